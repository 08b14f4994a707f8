#!/usr/bin/env python3
"""Write a tiny llama-architecture GGUF model with random weights.

    python3 tiny-gguf.py OUT.gguf [--layers 2] [--embd 64] [--heads 4] [--ff 128] [--seed 0]

Run it with the python that tests/tools/gguf-venv.sh prints (it has the
`gguf` package). The defaults give a file of about half a megabyte that
llama-server loads in well under a second; larger --layers/--embd make a
model that takes measurably longer to load. The weights come from a fixed
seed, so the same arguments always give the same bytes.

The vocabulary is a SentencePiece ("llama") one of <unk>, <s>, </s> and the
256 byte tokens <0x00>..<0xFF> (type BYTE): any text tokenizes through byte
fallback, and whatever the model generates detokenizes to bytes.
"""

import argparse
import sys

try:
    import numpy as np
    from gguf import GGUFWriter, LlamaFileType, TokenType
except ImportError as e:
    sys.exit(f"tiny-gguf.py: {e}; run it with the python that tests/tools/gguf-venv.sh prints")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", help="path of the .gguf file to write")
    ap.add_argument("--layers", type=int, default=2, help="transformer blocks (2)")
    ap.add_argument("--embd", type=int, default=64, help="embedding width (64)")
    ap.add_argument("--heads", type=int, default=4, help="attention heads (4)")
    ap.add_argument("--ff", type=int, default=None, help="feed-forward width (2 x embd)")
    ap.add_argument("--ctx", type=int, default=2048, help="training context length (2048)")
    ap.add_argument("--seed", type=int, default=0, help="random seed of the weights (0)")
    args = ap.parse_args()

    n_embd = args.embd
    n_head = args.heads
    n_ff = args.ff or 2 * n_embd
    if n_embd % n_head:
        ap.error("--embd must be a multiple of --heads")
    head_dim = n_embd // n_head

    tokens = [b"<unk>", b"<s>", b"</s>"] + [b"<0x%02X>" % i for i in range(256)]
    types = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL] + [TokenType.BYTE] * 256
    scores = [0.0] * len(tokens)
    n_vocab = len(tokens)

    w = GGUFWriter(args.out, "llama")
    w.add_name("supervisorctl-tiny-llama")
    w.add_file_type(LlamaFileType.ALL_F32)
    w.add_context_length(args.ctx)
    w.add_embedding_length(n_embd)
    w.add_block_count(args.layers)
    w.add_feed_forward_length(n_ff)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_head)
    w.add_rope_dimension_count(head_dim)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(n_vocab)

    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_scores(scores)
    w.add_unk_token_id(0)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)

    rng = np.random.default_rng(args.seed)

    def rand(*shape: int) -> np.ndarray:
        # numpy order is (rows, cols) = (out, in); GGUF stores it reversed.
        return (rng.standard_normal(shape) * 0.02).astype(np.float32)

    def ones(n: int) -> np.ndarray:
        return np.ones(n, dtype=np.float32)

    w.add_tensor("token_embd.weight", rand(n_vocab, n_embd))
    for i in range(args.layers):
        p = f"blk.{i}."
        w.add_tensor(p + "attn_norm.weight", ones(n_embd))
        w.add_tensor(p + "attn_q.weight", rand(n_embd, n_embd))
        w.add_tensor(p + "attn_k.weight", rand(n_embd, n_embd))
        w.add_tensor(p + "attn_v.weight", rand(n_embd, n_embd))
        w.add_tensor(p + "attn_output.weight", rand(n_embd, n_embd))
        w.add_tensor(p + "ffn_norm.weight", ones(n_embd))
        w.add_tensor(p + "ffn_gate.weight", rand(n_ff, n_embd))
        w.add_tensor(p + "ffn_up.weight", rand(n_ff, n_embd))
        w.add_tensor(p + "ffn_down.weight", rand(n_embd, n_ff))
    w.add_tensor("output_norm.weight", ones(n_embd))
    w.add_tensor("output.weight", rand(n_vocab, n_embd))

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
