//===- SourceLimits.h - input checks before the MLIR parser -----*- C++ -*-===//
//
// MLIR's parser is recursive descent: an attribute or type nested a few
// thousand levels deep (`[[[[...]]]]`, `tensor<tensor<...>>`) overflows the
// stack and kills the process. Attention IR nests a handful of levels, so
// every entry point that parses text (attn-opt, the CPU backend, the kernel
// compiler and through them libAttnCompiler and Python) rejects sources
// nested deeper than a fixed limit, as an error, before parsing.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_SUPPORT_SOURCELIMITS_H
#define ATTN_SUPPORT_SOURCELIMITS_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringRef.h"

#include <cstddef>
#include <optional>

namespace mlir::attn {

/// The deepest bracket nesting a source may have. 5,000 levels still parse
/// on an 8 MiB stack; 256 leaves room for small thread stacks.
constexpr unsigned kMaxSourceNesting = 256;

/// The byte offset at which `source` first nests brackets (`(`, `[`, `{`,
/// `<`) deeper than `limit`, or nullopt. Comments and string literals are
/// skipped; the `>` of `->` closes nothing.
std::optional<size_t> findExcessNesting(llvm::StringRef source,
                                        unsigned limit = kMaxSourceNesting);

/// The message for a source too deeply nested at `offset`, with its line
/// and column ("3:17: ...").
std::string describeExcessNesting(llvm::StringRef source, size_t offset);

/// parseSourceString<ModuleOp> after the nesting check: a source nested too
/// deeply gives an error diagnostic at the offending line and column and a
/// null module, as any other parse error does.
OwningOpRef<ModuleOp> parseModuleWithLimits(llvm::StringRef source,
                                            MLIRContext *context,
                                            llvm::StringRef bufferName);

} // namespace mlir::attn

#endif // ATTN_SUPPORT_SOURCELIMITS_H
