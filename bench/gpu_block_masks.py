"""Block-mask creation time: attn.create_block_mask against torch's
create_block_mask for the same mask_mods, in one run on the GPU machine
(python3 bench/gpu_block_masks.py; needs only the python package)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "python"))


def main():
    import torch
    import triton.testing
    from torch.nn.attention.flex_attention import create_block_mask as torch_create
    import attn
    bench = lambda fn: triton.testing.do_bench(fn, return_mode="median")
    print(torch.cuda.get_device_name(), torch.__version__)
    print("| mask | seqlen | attn ms | torch ms | attn/torch time | lists agree |")
    print("|---|---|---|---|---|---|")
    for s in (4096, 16384):
        bounds = torch.linspace(0, s, 7, device="cuda").long()
        docs = torch.bucketize(torch.arange(s, device="cuda"), bounds[1:-1], right=True).int()
        masks = {
            "causal": lambda b, h, q, kv: kv <= q,
            "document6+causal": lambda b, h, q, kv: (kv <= q) & (docs[q] == docs[kv]),
            "window1024": lambda b, h, q, kv: (kv <= q) & (kv >= q - 1024),
        }
        for name, fn in masks.items():
            ours = attn.create_block_mask(fn, None, None, s, s, device="cuda")
            theirs = torch_create(fn, None, None, s, s)
            agree = all(torch.equal(ours.kv_lists[k].long().cpu(),
                                    getattr(theirs, k).long().cpu())
                        for k in ("kv_num_blocks", "full_kv_num_blocks"))
            t_ours = bench(lambda: attn.create_block_mask(fn, None, None, s, s, device="cuda"))
            t_theirs = bench(lambda: torch_create(fn, None, None, s, s))
            print(f"| {name} | {s} | {t_ours:.2f} | {t_theirs:.2f} | "
                  f"{t_ours / t_theirs:.2f} | {agree} |")


if __name__ == "__main__":
    main()
