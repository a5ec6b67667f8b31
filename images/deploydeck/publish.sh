#!/usr/bin/env bash
# Publishes Web and Worker self-contained for linux-x64 into OUT/web and OUT/worker, then hard-links every file the
# two have in common (the .NET and ASP.NET Core runtimes, the shared libraries): an image holds one copy, not two.
# Used by the Dockerfile's SDK stage and by images/deploydeck/build.sh on a host without a registry.
# Usage: publish.sh REPO OUT [dotnet publish options...]
set -euo pipefail
repo="$1" out="$2"
shift 2

for project in Web Worker; do
    dotnet publish "$repo/src/$project/$project.csproj" -c Release -r linux-x64 --self-contained -nologo -v quiet \
        -o "$out/${project,,}" "$@"
done

shared=0
while IFS= read -r -d '' file; do
    twin="$out/web/${file#"$out/worker/"}"
    if [[ -f "$twin" ]] && cmp -s "$file" "$twin"; then
        ln -f "$twin" "$file"
        shared=$((shared + 1))
    fi
done < <(find "$out/worker" -type f -print0)

# Also the mark a prebuilt build image is known by (the Dockerfile skips restore and publish when it is there).
printf 'DeployDeck Web and Worker, self-contained for linux-x64 by .NET SDK %s; %d files shared by both\n' \
    "$(cd "$repo" && dotnet --version)" "$shared" > "$out/PUBLISHED"
