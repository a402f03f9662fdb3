#!/usr/bin/env bash

# Copyright 2026 The SSM Authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

# verify-codegen.sh fails when the generated code under pkg/ is not what
# hack/update-codegen.sh produces from the current types. It regenerates in a
# copy of the tree, so the working tree is never modified.

set -o errexit
set -o nounset
set -o pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"

TMP_ROOT="$(mktemp -d)"
trap 'rm -rf "${TMP_ROOT}"' EXIT
# b/ is the copy that is regenerated; a/ is the same copy left untouched.
# Comparing the two copies, not the working tree, keeps edits made to the
# working tree while the generators run out of the diff. a/ is a whole tree,
# not just pkg/, so that relative symlinks out of pkg/ still resolve.
mkdir -p "${TMP_ROOT}/b"

echo "=== Copying the tree to a scratch directory"
# .git is not needed to generate and can be large.
tar -C "${REPO_ROOT}" --exclude=./.git -cf - . | tar -C "${TMP_ROOT}/b" -xf -
cp -a "${TMP_ROOT}/b" "${TMP_ROOT}/a"

echo "=== Regenerating in the copy"
"${TMP_ROOT}/b/hack/update-codegen.sh"

echo "=== Comparing pkg/ and config-ssm with the regenerated copy"
if (cd "${TMP_ROOT}" && diff -Naupr a/pkg b/pkg && diff -Nau a/config/400-config-ssm.yaml b/config/400-config-ssm.yaml); then
  echo "Generated code is up to date."
else
  echo "ERROR: generated code under pkg/ is out of date; run hack/update-codegen.sh" >&2
  exit 1
fi
