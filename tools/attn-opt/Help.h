//===- Help.h - attn-opt's short --help --------------------------*- C++ -*-===//
//
// mlir-opt's --help lists ~1,200 lines: every upstream pass and LLVM's
// code-generation flags for every target. attn-opt's --help starts with
// what this project adds (the attn-* passes and pipelines with their
// options) and the handful of driver options one needs with them;
// --help-all shows the full list.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_TOOLS_ATTN_OPT_HELP_H
#define ATTN_TOOLS_ATTN_OPT_HELP_H

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace attn_opt {

/// If argv asks for help, prints it and returns true: `-h`/`--help` the
/// short help, `--help-all` mlir-opt's full one (rewriting the flag to
/// `--help` for the upstream parser).
bool handleHelp(int argc, char **argv, mlir::DialectRegistry &registry);

} // namespace attn_opt

#endif // ATTN_TOOLS_ATTN_OPT_HELP_H
