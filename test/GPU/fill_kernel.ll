; A minimal kernel for testing the runtime on a real GPU: out[i] = value + i
; for i < n, staged through dynamic shared memory. Parameters follow the
; artifact ABI: a rank-1 memref (allocated, aligned, offset, size, stride)
; and an f32 scalar.
target datalayout = "e-i64:64-i128:128-v16:16-v32:32-n16:32:64"
target triple = "nvptx64-nvidia-cuda"

@smem = external addrspace(3) global [0 x float], align 16

declare i32 @llvm.nvvm.read.ptx.sreg.tid.x()
declare i32 @llvm.nvvm.read.ptx.sreg.ctaid.x()
declare i32 @llvm.nvvm.read.ptx.sreg.ntid.x()
declare void @llvm.nvvm.barrier0()

define ptx_kernel void @fill(ptr %allocated, ptr %aligned, i64 %offset,
                             i64 %n, i64 %stride, float %value) {
entry:
  %tid = call i32 @llvm.nvvm.read.ptx.sreg.tid.x()
  %ctaid = call i32 @llvm.nvvm.read.ptx.sreg.ctaid.x()
  %ntid = call i32 @llvm.nvvm.read.ptx.sreg.ntid.x()
  %base = mul i32 %ctaid, %ntid
  %i32 = add i32 %base, %tid
  %i = zext i32 %i32 to i64
  %slot = getelementptr float, ptr addrspace(3) @smem, i32 %tid
  %fi = uitofp i64 %i to float
  %v = fadd float %value, %fi
  store float %v, ptr addrspace(3) %slot
  call void @llvm.nvvm.barrier0()
  %inside = icmp slt i64 %i, %n
  br i1 %inside, label %write, label %done
write:
  %staged = load float, ptr addrspace(3) %slot
  %scaled = mul i64 %i, %stride
  %index = add i64 %scaled, %offset
  %dst = getelementptr float, ptr %aligned, i64 %index
  store float %staged, ptr %dst
  br label %done
done:
  ret void
}
