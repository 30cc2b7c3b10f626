# Sourced, not run, by scripts/build, scripts/test and scripts/fuzz where they
# configure a build directory: adds the linker flag for mold to the caller's
# `extra` cmake arguments when mold is installed (scripts/setup installs it;
# it links in a fraction of ld's time). The one copy of that choice.
if command -v mold >/dev/null; then
  extra+=(-DCMAKE_EXE_LINKER_FLAGS=-fuse-ld=mold)
fi
