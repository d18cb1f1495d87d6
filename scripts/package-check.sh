#!/usr/bin/env bash
# "Use it from your app", checked from an empty folder: packs ReCam.Core, ReCam.MLNet and the recam tool into a local folder,
# creates a console app (`dotnet new console`), adds ReCam.MLNet from that folder, fits a tiny CAM -> ReCAM pipeline on
# generated scenes and saves it, then loads it in a second process and compares the maps; installs the recam tool from the
# same folder and runs it. Fails on any build warning (a restore that has to approximate a version warns NU1603). Needs the
# Debian package dataset-fashion-mnist. Usage: bash scripts/package-check.sh [DIR]
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mkdir -p "${1:-$(mktemp -d)}" && cd "${1:-.}" && pwd)"
feed="$work/packages"
app="$work/app"
rm -rf "$feed" "$app" "$work/run" "$work/tools"
dotnet pack "$repo/src/ReCam.Core" -c Release -o "$feed" -nologo -v quiet
dotnet pack "$repo/transformers/ReCam.MLNet" -c Release -o "$feed" -nologo -v quiet
dotnet pack "$repo/samples/ReCam.Cli" -c Release -o "$feed" -nologo -v quiet
ls -l "$feed"

mkdir -p "$app"
cd "$app"
dotnet new console --framework net10.0 --name PackageCheck --output . > /dev/null
# The app's package sources: this machine's usual ones plus the local folder.
sed "s#<clear />#<clear />\n    <add key=\"local\" value=\"$feed\" />#" "$repo/nuget.config" > nuget.config
# A ReCam.* of the same version left in the package cache by an earlier run would be used instead of the new one.
cache="$(dotnet nuget locals global-packages --list | sed 's/^global-packages: //')"
rm -rf "$cache/recam.core" "$cache/recam.mlnet" "$cache/recam.cli"
dotnet add package ReCam.MLNet --version 0.1.0 > /dev/null
cp "$repo/scripts/package-check/Program.cs" Program.cs
build_log="$(dotnet build -c Release -nologo 2>&1)" || { echo "$build_log"; exit 1; }
if grep -q "warning" <<< "$build_log"; then echo "$build_log" | grep "warning"; echo "package-check: the app's build warned"; exit 1; fi
out="$(find bin/Release -name PackageCheck.dll | head -n 1)"
test -f "$(dirname "$out")/DnnImageModels/ResNet18Onnx/ResNet18.onnx" || { echo "package-check: the ResNet-18 weights did not reach the app's output"; exit 1; }
mkdir -p "$work/run"
dotnet "$out" fit "$work/run"
dotnet "$out" load "$work/run"
cmp "$work/run/fit.txt" "$work/run/load.txt"
echo "package-check: the packages install, train, save and load in a second process with identical maps ($(wc -l < "$work/run/fit.txt") rows)"

dotnet tool install ReCam.Cli --version 0.1.0 --tool-path "$work/tools" --add-source "$feed" > /dev/null
"$work/tools/recam" bench --extraction-only --size 64 --images 1 --classes 4 2> /dev/null
echo "package-check: the recam tool installs and runs"
