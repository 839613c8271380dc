# Sourced by the scripts that run Tern's binaries: sets RELEASE_DIR to the
# folder cargo puts release binaries in. That is `target/release` by
# default, but CARGO_TARGET_DIR, `build.target-dir` in a cargo config, or a
# workspace elsewhere move it, so ask cargo instead of guessing.
RELEASE_DIR="$(cargo metadata --format-version 1 --no-deps |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/release"
if [ ! -d "$RELEASE_DIR" ]; then
  echo "release_dir.sh: cargo reports $RELEASE_DIR, which does not exist (build first)" >&2
  exit 1
fi
