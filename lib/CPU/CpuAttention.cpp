//===- CpuAttention.cpp - run attn.attention on the host ------------------===//

#include "attn/CPU/CpuAttention.h"
#include "attn/CPU/Pipeline.h"
#include "attn/Compiler/Registration.h"
#include "HostSymbols.h"
#include "attn/IR/AttnDialect.h"
#include "attn/IR/AttnOps.h"
#include "attn/Support/SourceLimits.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"

#include <mutex>

using namespace mlir;
using namespace mlir::attn;
using namespace mlir::attn::cpu;

namespace {
constexpr llvm::StringLiteral kEntryName = "attn_entry";

llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// The element type of a host buffer that matches an MLIR element type.
std::optional<ElementType> hostTypeOf(Type type) {
  if (type.isF16())
    return ElementType::F16;
  if (type.isBF16())
    return ElementType::BF16;
  if (type.isF32())
    return ElementType::F32;
  if (type.isInteger(1))
    return ElementType::I1;
  if (type.isInteger(8))
    return ElementType::I8;
  if (type.isInteger(32))
    return ElementType::I32;
  if (type.isInteger(64))
    return ElementType::I64;
  if (isa<Float8E4M3FNType>(type))
    return ElementType::F8E4M3;
  return std::nullopt;
}

/// Wraps `callee` (tensors in, tensors out) in `attn_entry(memrefs in...,
/// memrefs out...)` with a C interface, so that results land in caller
/// buffers.
void buildEntry(ModuleOp module, func::FuncOp callee) {
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  Location loc = callee.getLoc();
  auto toMemRef = [](Type t) -> Type {
    auto tensor = cast<RankedTensorType>(t);
    return MemRefType::get(tensor.getShape(), tensor.getElementType());
  };
  SmallVector<Type> argTypes;
  for (Type t : callee.getArgumentTypes())
    argTypes.push_back(toMemRef(t));
  for (Type t : callee.getResultTypes())
    argTypes.push_back(toMemRef(t));
  auto entry =
      func::FuncOp::create(b, loc, kEntryName, b.getFunctionType(argTypes, {}));
  entry->setAttr("llvm.emit_c_interface", b.getUnitAttr());
  Block *body = entry.addEntryBlock();
  b.setInsertionPointToStart(body);
  SmallVector<Value> tensors;
  unsigned numInputs = callee.getNumArguments();
  for (unsigned index = 0; index < numInputs; ++index) {
    Value tensor = bufferization::ToTensorOp::create(
        b, loc, callee.getArgumentTypes()[index], body->getArgument(index),
        /*restrict=*/true);
    tensors.push_back(tensor);
  }
  auto call = func::CallOp::create(b, loc, callee, tensors);
  for (auto [index, result] : llvm::enumerate(call.getResults())) {
    auto materialize = bufferization::MaterializeInDestinationOp::create(
        b, loc, result, body->getArgument(numInputs + index));
    materialize.setRestrict(true);
    materialize.setWritable(true);
  }
  func::ReturnOp::create(b, loc);
  callee.setPrivate();
}

/// The entry slot of `value`: its argument index if it is an argument of
/// `callee`, or numInputs + result index if `callee` returns it directly.
std::optional<size_t> slotOf(func::FuncOp callee, Value value) {
  if (auto arg = dyn_cast<BlockArgument>(value))
    if (arg.getOwner() == &callee.getBody().front())
      return arg.getArgNumber();
  for (Block &block : callee.getBody())
    if (auto ret = dyn_cast<func::ReturnOp>(block.getTerminator()))
      for (auto [index, returned] : llvm::enumerate(ret.getOperands()))
        if (returned == value)
          return callee.getNumArguments() + index;
  return std::nullopt;
}

/// Groups of entry dimensions that every attn.attention in `callee` needs
/// equal: batch, query rows and key rows of q/k/v/out/lse, and the batch of
/// the varlen offsets.
std::vector<std::vector<std::pair<size_t, int64_t>>>
collectEqualDims(func::FuncOp callee) {
  std::vector<std::vector<std::pair<size_t, int64_t>>> groups;
  callee.walk([&](AttentionOp op) {
    std::vector<std::pair<size_t, int64_t>> batch, rowsQ, rowsK, offsets;
    auto add = [&](auto &group, Value value, int64_t dim) {
      if (!value)
        return;
      if (std::optional<size_t> slot = slotOf(callee, value))
        group.push_back({*slot, dim});
    };
    bool bshd = op.getLayout() == Layout::bshd;
    if (op.isVarlen()) {
      for (Value v : {op.getQ(), op.getOut()})
        add(rowsQ, v, 0);
      if (!op.isPagedKv())
        for (Value v : {op.getK(), op.getV()})
          add(rowsK, v, 0);
      if (op.getLse())
        add(rowsQ, op.getLse(), 1);
      add(offsets, op.getCuSeqlensQ(), 0);
      add(offsets, op.getCuSeqlensK(), 0);
      add(offsets, op.getKvPageIndptr(), 0);
    } else {
      for (Value v : {op.getQ(), op.getOut()})
        add(batch, v, 0);
      for (Value v : {op.getQ(), op.getOut()})
        add(rowsQ, v, bshd ? 1 : 2);
      if (!op.isPagedKv()) {
        for (Value v : {op.getK(), op.getV()}) {
          add(batch, v, 0);
          add(rowsK, v, bshd ? 1 : 2);
        }
      } else {
        add(batch, op.getKvLastPageLen(), 0);
      }
      if (Value lse = op.getLse()) {
        add(batch, lse, 0);
        add(rowsQ, lse, 2);
      }
    }
    // A paged cache: K and V are pools of the same pages.
    std::vector<std::pair<size_t, int64_t>> pages;
    if (op.isPagedKv())
      for (Value v : {op.getK(), op.getV()})
        add(pages, v, 0);
    for (auto *group : {&batch, &rowsQ, &rowsK, &offsets, &pages})
      if (group->size() > 1)
        groups.push_back(*group);
  });
  return groups;
}

/// A ranked memref descriptor as the C interface lays it out:
/// {allocated, aligned, offset, sizes[rank], strides[rank]}.
struct Descriptor {
  std::vector<int64_t> words;
  explicit Descriptor(const HostBuffer &buffer) {
    int64_t rank = buffer.shape.size();
    words.resize(3 + 2 * rank);
    auto ptr = reinterpret_cast<int64_t>(buffer.data);
    words[0] = words[1] = ptr;
    words[2] = 0;
    int64_t stride = 1;
    for (int64_t d = rank - 1; d >= 0; --d) {
      words[3 + d] = buffer.shape[d];
      words[3 + rank + d] = stride;
      stride *= buffer.shape[d];
    }
  }
};
} // namespace

/// One argument of the entry function, kept without MLIR types: the
/// context that owned them is gone once compilation is done.
struct ArgSpec {
  ElementType type;
  std::vector<int64_t> shape; // ShapedType::kDynamic where dynamic
};

/// A dimension of an entry argument: (argument slot, dimension index).
using DimRef = std::pair<size_t, int64_t>;

const char *cpu::elementTypeName(ElementType type) {
  switch (type) {
  case ElementType::F16:
    return "f16";
  case ElementType::BF16:
    return "bf16";
  case ElementType::F32:
    return "f32";
  case ElementType::I1:
    return "i1";
  case ElementType::I8:
    return "i8";
  case ElementType::I32:
    return "i32";
  case ElementType::I64:
    return "i64";
  case ElementType::F8E4M3:
    return "f8E4M3FN";
  }
  return "?";
}

struct CompiledAttention::Impl {
  std::unique_ptr<ExecutionEngine> engine;
  std::vector<ArgSpec> signature; // inputs then results
  /// Dimensions that the attention op requires to be equal (batch, sequence
  /// lengths, packed token counts); checked on every run because dynamic
  /// sizes are only known then, and a mismatch would read out of bounds.
  std::vector<std::vector<DimRef>> equalDims;
  size_t numInputs = 0;
  std::string lowered;
};

CompiledAttention::CompiledAttention(std::unique_ptr<Impl> impl)
    : impl(std::move(impl)) {}
CompiledAttention::~CompiledAttention() = default;

const std::string &CompiledAttention::loweredIR() const {
  return impl->lowered;
}

llvm::Expected<std::unique_ptr<CompiledAttention>>
CompiledAttention::compile(llvm::StringRef source,
                           const CompileOptions &options) {
  static std::once_flag targetsInitialized;
  std::call_once(targetsInitialized, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });

  DialectRegistry registry;
  registerCompilerDialects(registry);
  MLIRContext context(registry);
  // The entry wrapper is built before any pass loads these dialects.
  context.loadDialect<bufferization::BufferizationDialect, func::FuncDialect,
                      memref::MemRefDialect>();

  // Collect diagnostics into the error message.
  std::string diagnostics;
  llvm::raw_string_ostream diagStream(diagnostics);
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
    diagStream << diag.getLocation() << ": " << diag << "\n";
    return success();
  });

  OwningOpRef<ModuleOp> module =
      parseModuleWithLimits(source, &context, "attention.mlir");
  if (!module)
    return makeError("attn cpu: cannot parse the module:\n" + diagnostics);
  auto funcs = llvm::to_vector(module->getOps<func::FuncOp>());
  if (funcs.size() != 1)
    return makeError("attn cpu: the module must hold exactly one function, "
                     "got " +
                     llvm::Twine(funcs.size()));
  func::FuncOp callee = funcs.front();
  auto impl = std::make_unique<Impl>();
  for (Type t : llvm::concat<const Type>(callee.getArgumentTypes(),
                                         callee.getResultTypes())) {
    auto tensor = dyn_cast<RankedTensorType>(t);
    if (!tensor || !hostTypeOf(tensor.getElementType()))
      return makeError("attn cpu: function arguments and results must be "
                       "ranked tensors of f16/bf16/f32/i1/i8/i32/i64, got " +
                       llvm::Twine(llvm::formatv("{0}", t).str()));
    impl->signature.push_back({*hostTypeOf(tensor.getElementType()),
                               std::vector<int64_t>(tensor.getShape().begin(),
                                                    tensor.getShape().end())});
  }
  impl->numInputs = callee.getNumArguments();
  impl->equalDims = collectEqualDims(callee);
  buildEntry(*module, callee);

  PassManager pm(&context);
  pm.addPass(createInlinerPass());
  pm.addPass(createSymbolDCEPass());
  CpuPipelineOptions pipeline;
  pipeline.qTile = options.qTile;
  pipeline.kvTile = options.kvTile;
  buildLowerToCpuPipeline(pm, pipeline);
  if (failed(pm.run(*module)))
    return makeError("attn cpu: lowering failed:\n" + diagnostics);
  llvm::raw_string_ostream loweredStream(impl->lowered);
  module->print(loweredStream);

  ExecutionEngineOptions engineOptions;
  // `transformer` is a function_ref: keep the callable alive here.
  std::function<llvm::Error(llvm::Module *)> optimize =
      makeOptimizingTransformer(/*optLevel=*/3, /*sizeLevel=*/0,
                                /*targetMachine=*/nullptr);
  engineOptions.transformer = optimize;
  auto engine = ExecutionEngine::create(*module, engineOptions);
  if (!engine)
    return makeError("attn cpu: JIT compilation failed: " +
                     llvm::toString(engine.takeError()));
  registerHostSymbols(**engine);
  impl->engine = std::move(*engine);
  return std::unique_ptr<CompiledAttention>(
      new CompiledAttention(std::move(impl)));
}

llvm::Error CompiledAttention::run(llvm::ArrayRef<HostBuffer> args,
                                   llvm::ArrayRef<HostBuffer> results) const {
  size_t numResults = impl->signature.size() - impl->numInputs;
  if (args.size() != impl->numInputs || results.size() != numResults)
    return makeError(llvm::formatv("attn cpu: expected {0} arguments and {1} "
                                   "results, got {2} and {3}",
                                   impl->numInputs, numResults, args.size(),
                                   results.size())
                         .str());
  std::vector<Descriptor> descriptors;
  descriptors.reserve(impl->signature.size());
  for (size_t index = 0; index < impl->signature.size(); ++index) {
    bool isInput = index < impl->numInputs;
    const HostBuffer &buffer =
        isInput ? args[index] : results[index - impl->numInputs];
    size_t position = isInput ? index : index - impl->numInputs;
    std::string what =
        (isInput ? "argument " : "result ") + std::to_string(position);
    const ArgSpec &spec = impl->signature[index];
    if (!buffer.data)
      return makeError("attn cpu: " + what + " has a null data pointer");
    if (buffer.type != spec.type)
      return makeError("attn cpu: " + what + " must hold " +
                       elementTypeName(spec.type) + " elements, got " +
                       elementTypeName(buffer.type));
    if (buffer.shape.size() != spec.shape.size())
      return makeError("attn cpu: " + what + " must have rank " +
                       std::to_string(spec.shape.size()) + ", got " +
                       std::to_string(buffer.shape.size()));
    for (size_t d = 0; d < spec.shape.size(); ++d) {
      int64_t size = buffer.shape[d];
      bool dynamic = ShapedType::isDynamic(spec.shape[d]);
      if (size < 0 || (!dynamic && spec.shape[d] != size))
        return makeError(
            "attn cpu: " + what + " dimension " + std::to_string(d) +
            " must be " +
            (dynamic ? std::string(">= 0") : std::to_string(spec.shape[d])) +
            ", got " + std::to_string(size));
    }
    descriptors.emplace_back(buffer);
  }
  auto sizeOf = [&](DimRef ref) {
    return ref.first < impl->numInputs
               ? args[ref.first].shape[ref.second]
               : results[ref.first - impl->numInputs].shape[ref.second];
  };
  auto dimName = [&](DimRef ref) {
    bool input = ref.first < impl->numInputs;
    return (input ? "argument " : "result ") +
           std::to_string(input ? ref.first : ref.first - impl->numInputs) +
           " dimension " + std::to_string(ref.second);
  };
  for (const std::vector<DimRef> &group : impl->equalDims)
    for (DimRef ref : group)
      if (sizeOf(ref) != sizeOf(group.front()))
        return makeError("attn cpu: " + dimName(ref) + " (" +
                         std::to_string(sizeOf(ref)) + ") must equal " +
                         dimName(group.front()) + " (" +
                         std::to_string(sizeOf(group.front())) + ")");
  // The packed C-interface wrapper takes a pointer to each argument, and
  // each argument is a pointer to a descriptor.
  std::vector<void *> pointers(descriptors.size());
  std::vector<void *> packed(descriptors.size());
  for (size_t i = 0; i < descriptors.size(); ++i) {
    pointers[i] = descriptors[i].words.data();
    packed[i] = &pointers[i];
  }
  if (llvm::Error error = impl->engine->invokePacked(
          (llvm::Twine("_mlir_ciface_") + kEntryName).str(), packed))
    return error;
  return llvm::Error::success();
}
