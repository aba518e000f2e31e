//===- Help.cpp - attn-opt's short --help ---------------------------------===//

#include "Help.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

namespace {
/// The driver options worth knowing next to the attn passes.
constexpr const char *kDriverOptions[] = {
    "o",
    "pass-pipeline",
    "split-input-file",
    "verify-diagnostics",
    "mlir-print-ir-after-all",
    "mlir-print-ir-after-failure",
    "mlir-timing",
    "mlir-print-debuginfo",
};

/// Every registered pass or pipeline whose argument starts with "attn-" (our
/// naming rule), sorted. The pass list registers each pass argument as a
/// flag of its own, so the option map holds them.
std::vector<std::string> attnPassArguments() {
  std::vector<std::string> names;
  for (const auto &entry : llvm::cl::getRegisteredOptions()) {
    llvm::StringRef name = entry.first;
    if (name.starts_with("attn-") && (mlir::PassInfo::lookup(name) ||
                                      mlir::PassPipelineInfo::lookup(name)))
      names.push_back(name.str());
  }
  llvm::sort(names);
  return names;
}

void printShortHelp(llvm::StringRef tool) {
  llvm::outs() << "OVERVIEW: Attn optimizer driver: runs the attn passes and "
                  "pipelines (and every upstream MLIR pass) on IR.\n\n"
               << "USAGE: " << tool << " [options] <input file>\n\n"
               << "Attn passes and pipelines:\n";
  constexpr size_t kIndent = 2, kDescIndent = 40;
  for (const std::string &name : attnPassArguments()) {
    if (const mlir::PassPipelineInfo *pipeline =
            mlir::PassPipelineInfo::lookup(name))
      pipeline->printHelpStr(kIndent, kDescIndent);
    else
      mlir::PassInfo::lookup(name)->printHelpStr(kIndent, kDescIndent);
  }
  llvm::outs() << "\nDriver options:\n";
  auto &options = llvm::cl::getRegisteredOptions();
  for (const char *name : kDriverOptions) {
    auto it = options.find(name);
    if (it != options.end())
      it->second->printOptionInfo(kDescIndent);
  }
  llvm::outs() << "\nEvery upstream pass and LLVM option: " << tool
               << " --help-all\n";
}
} // namespace

bool attn_opt::handleHelp(int argc, char **argv,
                          mlir::DialectRegistry &registry) {
  bool shortHelp = false;
  for (int i = 1; i < argc; ++i) {
    llvm::StringRef arg(argv[i]);
    if (arg == "--help-all" || arg == "-help-all") {
      // The upstream parser prints its full list for --help (and exits).
      static char fullHelp[] = "--help";
      argv[i] = fullHelp;
      return false;
    }
    shortHelp |= arg == "-h" || arg == "--help" || arg == "-help";
  }
  if (!shortHelp)
    return false;
  // Register every option (and the pass list) without parsing argv.
  char *toolOnly[] = {argv[0], nullptr};
  (void)mlir::registerAndParseCLIOptions(1, toolOnly, "", registry);
  printShortHelp(llvm::StringRef(argv[0]).rsplit('/').second.empty()
                     ? llvm::StringRef(argv[0])
                     : llvm::StringRef(argv[0]).rsplit('/').second);
  return true;
}
