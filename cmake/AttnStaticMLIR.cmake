# attn_link_mlir_statically(target): links `target` (a shared library or an
# executable) against our static archives and the MLIR/LLVM static archives
# instead of libMLIR.so/libLLVM.so, so that it runs on a machine without
# LLVM. Everything from the archives is hidden, unused sections dropped,
# identical code folded (lld) and the result stripped; libstdc++ is linked
# in, libc/libm/libgcc_s stay shared.
#
# Our archives and every MLIR/LLVM archive go in one group: the linker takes
# from them only the members something references, so the group need not
# list components by hand, and nothing reaches libMLIR.so/libLLVM.so (which
# the targets' link interfaces would name).
set(ATTN_STATIC_ARCHIVES AttnCPU AttnGPU AttnToGPU AttnTransforms AttnAnalysis
  AttnReference AttnRegistration AttnIR AttnSupport AttnArtifact)
find_program(ATTN_LLD NAMES ld.lld)

function(attn_link_mlir_statically target)
  add_dependencies(${target} ${ATTN_STATIC_ARCHIVES})
  file(GLOB mlir_archives "${LLVM_LIBRARY_DIR}/libMLIR*.a")
  file(GLOB llvm_archives "${LLVM_LIBRARY_DIR}/libLLVM*.a")
  # Archives that define the same symbols as ones we keep (the C API
  # aggregates, the JIT runner's main) stay out.
  list(FILTER mlir_archives EXCLUDE REGEX "libMLIRCAPI|libMLIRJitRunner")
  set(group)
  foreach(lib ${ATTN_STATIC_ARCHIVES})
    list(APPEND group "$<TARGET_FILE:${lib}>")
  endforeach()
  list(APPEND group ${mlir_archives} ${llvm_archives})
  # LLVM's compression support: zlib and zstd, static where the -dev
  # packages ship archives (scripts/attn.sh installs them).
  foreach(compression z zstd)
    find_library(ATTN_${compression}_STATIC NAMES lib${compression}.a)
    if(ATTN_${compression}_STATIC)
      list(APPEND group ${ATTN_${compression}_STATIC})
    else()
      list(APPEND group ${compression})
    endif()
  endforeach()
  if(ATTN_LLD)
    target_link_options(${target} PRIVATE -fuse-ld=lld -Wl,--icf=all)
  endif()
  target_link_libraries(${target} PRIVATE
    -Wl,--start-group ${group} -Wl,--end-group pthread dl m)
  target_link_options(${target} PRIVATE -static-libstdc++
    -Wl,--exclude-libs,ALL -Wl,--gc-sections -Wl,-s)
endfunction()
