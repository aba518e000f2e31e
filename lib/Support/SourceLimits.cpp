//===- SourceLimits.cpp - input checks before the MLIR parser -------------===//

#include "attn/Support/SourceLimits.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Location.h"
#include "mlir/Parser/Parser.h"

#include <string>
#include <utility>

using namespace mlir;

static std::string nestingMessage() {
  return "brackets nest deeper than " +
         std::to_string(mlir::attn::kMaxSourceNesting) +
         " levels; attention IR needs far fewer, and the parser would "
         "overflow its stack";
}

std::optional<size_t> mlir::attn::findExcessNesting(llvm::StringRef source,
                                                    unsigned limit) {
  unsigned depth = 0;
  for (size_t i = 0, e = source.size(); i < e; ++i) {
    char c = source[i];
    switch (c) {
    case '/':
      if (i + 1 < e && source[i + 1] == '/')
        while (i < e && source[i] != '\n')
          ++i;
      break;
    case '"':
      for (++i; i < e && source[i] != '"'; ++i)
        if (source[i] == '\\')
          ++i;
      break;
    case '(':
    case '[':
    case '{':
    case '<':
      if (++depth > limit)
        return i;
      break;
    case '>':
      if (i > 0 && source[i - 1] == '-')
        break;
      [[fallthrough]];
    case ')':
    case ']':
    case '}':
      if (depth > 0)
        --depth;
      break;
    default:
      break;
    }
  }
  return std::nullopt;
}

/// 1-based (line, column) of `offset`.
static std::pair<unsigned, unsigned> lineAndColumn(llvm::StringRef source,
                                                   size_t offset) {
  llvm::StringRef before = source.take_front(offset);
  unsigned line = 1 + before.count('\n');
  size_t lineStart = before.rfind('\n');
  unsigned column =
      offset - (lineStart == llvm::StringRef::npos ? 0 : lineStart + 1) + 1;
  return {line, column};
}

std::string mlir::attn::describeExcessNesting(llvm::StringRef source,
                                              size_t offset) {
  auto [line, column] = lineAndColumn(source, offset);
  return std::to_string(line) + ":" + std::to_string(column) +
         ": error: " + nestingMessage();
}

OwningOpRef<ModuleOp>
mlir::attn::parseModuleWithLimits(llvm::StringRef source, MLIRContext *context,
                                  llvm::StringRef bufferName) {
  if (std::optional<size_t> offset = findExcessNesting(source)) {
    auto [line, column] = lineAndColumn(source, *offset);
    emitError(FileLineColLoc::get(context, bufferName, line, column))
        << nestingMessage();
    return nullptr;
  }
  return parseSourceString<ModuleOp>(source, context, bufferName);
}
