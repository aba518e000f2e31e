// Loads an Attn kernel artifact with the installed runtime and reports what
// it holds, or why it cannot be loaded or launched here.
//   attn-runtime-consumer kernel.attn
#include <attn/Runtime/Runtime.hpp>

#include <cstdio>

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s kernel.attn\n", argv[0]);
    return 2;
  }
  attn::Kernel kernel;
  attn::Status status = attn::Kernel::loadFile(argv[1], kernel);
  if (!status) {
    std::printf("load failed (%d): %s\n", status.code, status.message.c_str());
    return 1;
  }
  std::printf("entry %s, key %s\n", kernel.entry().c_str(), kernel.key().c_str());
  status = kernel.prepare();
  std::printf("prepare: %s\n", status ? "ok" : status.message.c_str());
  return 0;
}
