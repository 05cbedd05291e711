#!/usr/bin/env python3
"""Writes the bad-input corpus beside this script (see README.md): every case is a small file or
directory that one loader must refuse with causalqwen::error naming it. Deterministic (no
randomness, no numpy); run it again after changing a case and commit the result.

    python3 tests/data/bad/generate.py

The good inputs the cases start from live in good/: a tiny Qwen2 checkpoint made here, and the
head, delta, features and tokenizer that good/README.md describes. MANIFEST lists every case as
`<kind> <path>`; kinds: model (qwen_forward --model), tokenizer (tokenize --tokenizer), text
(tokenize --input), head, delta, features (fusion_verify --head / --delta / --features).
"""
import json
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
GOOD = os.path.join(HERE, "good")
manifest = []


def out(kind, rel, data=None):
    """Writes bytes `data` at `rel` (a file), or only records a case another step made."""
    path = os.path.join(HERE, rel)
    if data is not None:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
    manifest.append(f"{kind} {rel}")


def read(rel):
    with open(os.path.join(HERE, rel), "rb") as f:
        return f.read()


# ---- safetensors ------------------------------------------------------------------------------

def safetensors(tensors, metadata=None, header_override=None):
    """tensors: list of (name, dtype, shape, bytes). Returns the file bytes."""
    header, data = {}, b""
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if metadata is not None:
        header["__metadata__"] = metadata
    text = header_override if header_override is not None else json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


def split_safetensors(blob):
    n = struct.unpack("<Q", blob[:8])[0]
    return json.loads(blob[8:8 + n]), blob[8 + n:]


def join_safetensors(header, data):
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


def floats(values):
    return struct.pack(f"<{len(values)}f", *values)


def pattern(count, seed):
    """Deterministic small weights in [-0.25, 0.25)."""
    state, values = seed * 2654435761 % 2**32, []
    for _ in range(count):
        state = (state * 1103515245 + 12345) % 2**31
        values.append((state / 2**31 - 0.5) / 2)
    return values


CONFIG = {
    "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "vocab_size": 16, "hidden_size": 8,
    "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1,
    "head_dim": 4, "rope_theta": 10000.0, "rms_norm_eps": 1e-06, "tie_word_embeddings": True,
    "max_position_embeddings": 32, "hidden_act": "silu",
}


def qwen2_tensors():
    v, h, i, q, kv = 16, 8, 8, 8, 4
    shapes = [("model.embed_tokens.weight", [v, h]), ("model.layers.0.input_layernorm.weight", [h]),
              ("model.layers.0.self_attn.q_proj.weight", [q, h]), ("model.layers.0.self_attn.q_proj.bias", [q]),
              ("model.layers.0.self_attn.k_proj.weight", [kv, h]), ("model.layers.0.self_attn.k_proj.bias", [kv]),
              ("model.layers.0.self_attn.v_proj.weight", [kv, h]), ("model.layers.0.self_attn.v_proj.bias", [kv]),
              ("model.layers.0.self_attn.o_proj.weight", [h, q]),
              ("model.layers.0.post_attention_layernorm.weight", [h]),
              ("model.layers.0.mlp.gate_proj.weight", [i, h]), ("model.layers.0.mlp.up_proj.weight", [i, h]),
              ("model.layers.0.mlp.down_proj.weight", [h, i]), ("model.norm.weight", [h])]
    out_ = []
    for k, (name, shape) in enumerate(shapes):
        n = 1
        for e in shape:
            n *= e
        out_.append([name, "F32", shape, floats([1.0] * n if name.endswith("norm.weight") else pattern(n, k + 1))])
    return out_


def model_dir(rel, config=CONFIG, weights=None, config_bytes=None):
    d = os.path.join(HERE, rel)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    with open(os.path.join(d, "config.json"), "wb") as f:
        f.write(config_bytes if config_bytes is not None else json.dumps(config, indent=1).encode())
    if weights is not None:
        with open(os.path.join(d, "model.safetensors"), "wb") as f:
            f.write(weights)
    manifest.append(f"model {rel}")
    return d


def with_tensor(change):
    tensors = qwen2_tensors()
    change(tensors)
    return safetensors(tensors)


# ---- gguf -------------------------------------------------------------------------------------

def gstr(text):
    raw = text.encode() if isinstance(text, str) else text
    return struct.pack("<Q", len(raw)) + raw


def gguf(kvs, tensors, version=3, tensor_count=None, kv_count=None, data=b""):
    """kvs: list of raw key/value byte strings; tensors: raw tensor-info byte strings."""
    body = b"GGUF" + struct.pack("<IQQ", version, len(tensors) if tensor_count is None else tensor_count,
                                 len(kvs) if kv_count is None else kv_count)
    body += b"".join(kvs) + b"".join(tensors)
    body += b"\0" * (-len(body) % 32)
    return body + data


def kv_string(key, value):
    return gstr(key) + struct.pack("<I", 8) + gstr(value)


def kv_u32(key, value):
    return gstr(key) + struct.pack("<II", 4, value)


def tensor_info(name, dims, ggml_type=0, offset=0):
    return gstr(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims) + struct.pack(
        "<IQ", ggml_type, offset)


ARCH = kv_string("general.architecture", "qwen2")


def npy_array(values, shape):
    """A float64 C-order .npy file (format 1.0) of `values`."""
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (%d, %d), }" % shape
    magic = b"\x93NUMPY\x01\x00"
    raw = header.encode()
    raw += b" " * (-(len(magic) + 2 + len(raw) + 1) % 64) + b"\n"
    return magic + struct.pack("<H", len(raw)) + raw + struct.pack(f"<{len(values)}d", *values)


def main():
    for sub in ("model", "tokenizer", "text", "head", "delta", "features"):
        shutil.rmtree(os.path.join(HERE, sub), ignore_errors=True)
    good_weights = safetensors(qwen2_tensors())
    gd = os.path.join(GOOD, "model")
    shutil.rmtree(gd, ignore_errors=True)
    os.makedirs(gd)
    with open(os.path.join(gd, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=1)
    with open(os.path.join(gd, "model.safetensors"), "wb") as f:
        f.write(good_weights)
    with open(os.path.join(GOOD, "features.npy"), "wb") as f:
        f.write(npy_array(pattern(128, 99), (8, 16)))
    header, data = split_safetensors(good_weights)
    n = len(json.dumps(header).encode())

    # Checkpoint directories (qwen_forward --model, Qwen2 loading).
    model_dir("model/empty_weights", weights=b"")
    model_dir("model/short_header_length", weights=b"\x10\x00\x00")
    model_dir("model/header_longer_than_file", weights=struct.pack("<Q", n + 1000) + good_weights[8:])
    model_dir("model/header_length_2_63", weights=struct.pack("<Q", 2**63) + good_weights[8:])
    model_dir("model/header_length_zero", weights=struct.pack("<Q", 0) + good_weights[8:])
    model_dir("model/header_not_json", weights=safetensors([], header_override=b"{not json" + b" " * 8))
    model_dir("model/header_is_array", weights=safetensors([], header_override=b"[1, 2, 3]"))
    model_dir("model/data_truncated", weights=good_weights[:-100])
    model_dir("model/data_padded", weights=good_weights + b"\0" * 64)
    h = json.loads(json.dumps(header))
    h["model.norm.weight"]["data_offsets"] = [len(data) - 16, len(data) + 16]
    model_dir("model/offset_past_end", weights=join_safetensors(h, data))
    h = json.loads(json.dumps(header))
    first = h["model.embed_tokens.weight"]["data_offsets"]
    h["model.norm.weight"]["data_offsets"] = [first[0], first[0] + 32]
    model_dir("model/overlapping_offsets", weights=join_safetensors(h, data))
    h = json.loads(json.dumps(header))
    b0, e0 = h["model.norm.weight"]["data_offsets"]
    h["model.norm.weight"]["data_offsets"] = [e0, b0]
    model_dir("model/offsets_reversed", weights=join_safetensors(h, data))
    h = json.loads(json.dumps(header))
    h["model.norm.weight"]["data_offsets"] = [b0, 2**64 - 1]
    model_dir("model/offset_2_64", weights=join_safetensors(h, data))
    h = json.loads(json.dumps(header))
    h["model.norm.weight"]["shape"] = [2**32, 2**32, 16]
    model_dir("model/shape_product_overflows", weights=join_safetensors(h, data))
    h = json.loads(json.dumps(header))
    h["model.norm.weight"]["shape"] = [-8]
    model_dir("model/shape_negative", weights=join_safetensors(h, data))
    h = json.loads(json.dumps(header))
    h["model.norm.weight"]["shape"] = [4]
    model_dir("model/shape_disagrees_with_bytes", weights=join_safetensors(h, data))
    h = json.loads(json.dumps(header))
    h["model.norm.weight"]["shape"] = [8.5]
    model_dir("model/shape_not_integer", weights=join_safetensors(h, data))
    h = json.loads(json.dumps(header))
    h["model.norm.weight"]["dtype"] = "F8_E4M3"
    model_dir("model/dtype_unknown", weights=join_safetensors(h, data))
    h = json.loads(json.dumps(header))
    h["model.norm.weight"]["dtype"] = "I32"
    model_dir("model/dtype_integer_weight", weights=join_safetensors(h, data))
    text = json.dumps(header)
    dup = text[:-1] + ', "model.norm.weight": ' + json.dumps(header["model.norm.weight"]) + "}"
    model_dir("model/duplicate_tensor_name", weights=safetensors([], header_override=dup.encode()) + data)
    bad_name = json.dumps(header).replace('"model.norm.weight"', '"model.norm.\\udcff"').encode()
    model_dir("model/tensor_name_lone_surrogate", weights=safetensors([], header_override=bad_name) + data)
    raw_bad = json.dumps(header).encode().replace(b"model.norm.weight", b"model.norm.\xff\xfe")
    model_dir("model/tensor_name_invalid_utf8", weights=safetensors([], header_override=raw_bad) + data)
    h = json.loads(json.dumps(header))
    h["__metadata__"] = {"format": 3}
    model_dir("model/metadata_not_strings", weights=join_safetensors(h, data))
    model_dir("model/nan_weight", weights=with_tensor(lambda t: t[4].__setitem__(3, floats([float("nan")] * 32))))
    model_dir("model/inf_norm_bf16", weights=with_tensor(
        lambda t: t[13].__setitem__(1, "BF16") or t[13].__setitem__(3, struct.pack("<8H", *([0x3f80] * 7 + [0x7f80])))))
    model_dir("model/missing_tensor", weights=with_tensor(lambda t: t.pop(10)))
    model_dir("model/config_sizes_disagree", config=dict(CONFIG, hidden_size=12, head_dim=6), weights=good_weights)
    model_dir("model/config_layers_huge", config=dict(CONFIG, num_hidden_layers=10**12), weights=good_weights)
    model_dir("model/config_vocab_negative", config=dict(CONFIG, vocab_size=-16), weights=good_weights)
    model_dir("model/config_vocab_2_63", config=dict(CONFIG, vocab_size=2**63 - 1), weights=good_weights)
    model_dir("model/config_not_json", config_bytes=b'{"vocab_size": 16,', weights=good_weights)
    model_dir("model/config_invalid_utf8", config_bytes=b'{"model_type": "qwen2\xff"}', weights=good_weights)
    model_dir("model/config_empty", config_bytes=b"", weights=good_weights)
    d = model_dir("model/config_is_directory", weights=good_weights)
    os.remove(os.path.join(d, "config.json"))
    os.makedirs(os.path.join(d, "config.json"))
    with open(os.path.join(d, "config.json", ".keep"), "w"):
        pass
    d = model_dir("model/weights_is_directory")
    os.makedirs(os.path.join(d, "model.safetensors"))
    with open(os.path.join(d, "model.safetensors", ".keep"), "w"):
        pass
    d = model_dir("model/no_weights")
    d = model_dir("model/index_shard_escapes")
    with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
        json.dump({"weight_map": {"model.norm.weight": "../../good/model/model.safetensors"}}, f)
    d = model_dir("model/index_shard_missing")
    with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
        json.dump({"weight_map": {"model.norm.weight": "model-00001-of-00002.safetensors"}}, f)

    # GGUF files (qwen_forward --model, GgufReader / load_qwen2).
    names = [gstr("general.architecture")]
    out("model", "model/empty.gguf", b"")
    out("model", "model/bad_magic.gguf", b"GGUX" + gguf([ARCH], [])[4:])
    out("model", "model/version_1.gguf", gguf([ARCH], [], version=1))
    out("model", "model/truncated_header.gguf", gguf([ARCH], [])[:14])
    out("model", "model/tensor_count_2_62.gguf", gguf([ARCH], [], tensor_count=2**62))
    out("model", "model/kv_count_2_62.gguf", gguf([ARCH], [], kv_count=2**62))
    out("model", "model/key_length_2_63.gguf", gguf([struct.pack("<Q", 2**63) + b"general"], []))
    out("model", "model/value_type_99.gguf", gguf([names[0] + struct.pack("<I", 99) + gstr("qwen2")], []))
    out("model", "model/array_length_2_61.gguf",
        gguf([ARCH, gstr("tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, 2**61)], []))
    out("model", "model/nested_arrays.gguf",
        gguf([ARCH, gstr("x.nested") + struct.pack("<I", 9) + struct.pack("<IQ", 9, 1) * 1000 + struct.pack("<IQ", 4, 0)], []))
    out("model", "model/tensor_rank_9.gguf", gguf([ARCH], [tensor_info("token_embd.weight", [2] * 9)], data=b"\0" * 2048))
    out("model", "model/tensor_type_99.gguf", gguf([ARCH], [tensor_info("token_embd.weight", [8, 16], 99)], data=b"\0" * 512))
    out("model", "model/tensor_past_end.gguf", gguf([ARCH], [tensor_info("token_embd.weight", [8, 16], 0, 4096)], data=b"\0" * 512))
    out("model", "model/tensor_elements_overflow.gguf",
        gguf([ARCH], [tensor_info("token_embd.weight", [2**32, 2**32, 2**8], 0)], data=b"\0" * 512))
    out("model", "model/tensor_offset_misaligned.gguf", gguf([ARCH], [tensor_info("token_embd.weight", [8, 16], 0, 3)], data=b"\0" * 1024))
    out("model", "model/duplicate_tensor.gguf",
        gguf([ARCH], [tensor_info("token_embd.weight", [8, 16]), tensor_info("token_embd.weight", [8, 16], 0, 512)],
             data=b"\0" * 1024))
    out("model", "model/alignment_zero.gguf", gguf([ARCH, kv_u32("general.alignment", 0)], []))
    out("model", "model/not_qwen2.gguf", gguf([kv_string("general.architecture", "llama")], []))

    # Tokenizers (tokenize --tokenizer, Tokenizer::from_file / load_tokenizer).
    good_tok = json.loads(read("good/tokenizer.json"))

    def tok(rel, change=None, raw=None):
        if raw is None:
            t = json.loads(json.dumps(good_tok))
            change(t)
            raw = json.dumps(t).encode()
        out("tokenizer", rel, raw)

    first_token = next(iter(good_tok["model"]["vocab"]))
    tok("tokenizer/empty.json", raw=b"")
    tok("tokenizer/not_json.json", raw=b'{"model": {"type": "BPE", "vocab": {')
    tok("tokenizer/top_level_array.json", raw=b"[]")
    tok("tokenizer/invalid_utf8_token.json", raw=json.dumps(good_tok).encode().replace(
        json.dumps(first_token).encode(), b'"\xff\xfe"', 1))
    tok("tokenizer/vocab_id_1e8.json", lambda t: t["model"]["vocab"].__setitem__(first_token, 100000000))
    tok("tokenizer/vocab_id_2e9.json", lambda t: t["model"]["vocab"].__setitem__(first_token, 2000000000))
    tok("tokenizer/vocab_id_negative.json", lambda t: t["model"]["vocab"].__setitem__(first_token, -1))
    tok("tokenizer/vocab_id_float.json", lambda t: t["model"]["vocab"].__setitem__(first_token, 1.5))
    tok("tokenizer/vocab_id_2_64.json", raw=json.dumps(good_tok).encode().replace(
        (json.dumps(first_token) + ": " + str(good_tok["model"]["vocab"][first_token])).encode(),
        (json.dumps(first_token) + ": 18446744073709551616").encode(), 1))
    tok("tokenizer/model_unigram.json", lambda t: t["model"].__setitem__("type", "Unigram"))
    tok("tokenizer/merge_unknown_token.json", lambda t: t["model"].__setitem__("merges", ["zzqq xxyy"]))
    tok("tokenizer/duplicate_vocab_ids.json", lambda t: t["model"]["vocab"].__setitem__("dupe", 0))
    tok("tokenizer/added_token_id_2e9.json", lambda t: t["added_tokens"][0].__setitem__("id", 2000000000))
    tok("tokenizer/added_token_not_object.json", lambda t: t.__setitem__("added_tokens", [7]))
    tok("tokenizer/deep_nesting.json", raw=b'{"model": ' + b"[" * 20000 + b"]" * 20000 + b"}")
    os.makedirs(os.path.join(HERE, "tokenizer/directory_without_tokenizer"), exist_ok=True)
    with open(os.path.join(HERE, "tokenizer/directory_without_tokenizer/.keep"), "w"):
        pass
    out("tokenizer", "tokenizer/directory_without_tokenizer")

    # Text for a good tokenizer (tokenize --input).
    out("text", "text/invalid_utf8.txt", b"hello \xff world\n")
    out("text", "text/overlong_slash.txt", b"a\xc0\xafb\n")
    out("text", "text/surrogate.txt", b"x\xed\xa0\x80y\n")
    out("text", "text/truncated_sequence.txt", b"caf\xc3")

    # Head, delta, features (fusion_verify; load_head, load_delta, load_features / parse_npy).
    def mutate_safetensors(kind, rel, source, change):
        hdr, dat = split_safetensors(read(source))
        result = change(hdr, dat)
        out(kind, rel, result if isinstance(result, bytes) else join_safetensors(hdr, dat))

    def set_meta(key, value):
        return lambda hdr, dat: hdr["__metadata__"].__setitem__(key, value)

    def nan_first(hdr, dat):
        name = sorted(k for k in hdr if k != "__metadata__")[0]
        begin = hdr[name]["data_offsets"][0]
        width = 8 if hdr[name]["dtype"] == "F64" else 4
        nan = struct.pack("<d", float("nan")) if width == 8 else struct.pack("<f", float("nan"))
        return join_safetensors(hdr, dat[:begin] + nan + dat[begin + width:])

    def drop_first(hdr, dat):
        hdr.pop(sorted(k for k in hdr if k != "__metadata__")[0])

    def reshape_first(hdr, dat):
        name = sorted(k for k in hdr if k != "__metadata__")[0]
        shape = hdr[name]["shape"]
        hdr[name]["shape"] = [shape[-1], shape[0]] if len(shape) == 2 and shape[0] != shape[-1] else shape + [1, 1]

    head = "good/head.safetensors"
    delta = "good/delta.safetensors"
    mutate_safetensors("head", "head/hidden_2_64_minus_1.safetensors", head, set_meta("H", str(2**64 - 1)))
    mutate_safetensors("head", "head/hidden_2_64.safetensors", head, set_meta("H", str(2**64)))
    mutate_safetensors("head", "head/hidden_zero.safetensors", head, set_meta("H", "0"))
    mutate_safetensors("head", "head/hidden_not_number.safetensors", head, set_meta("H", "16x"))
    mutate_safetensors("head", "head/classes_huge.safetensors", head, set_meta("K", str(2**40)))
    mutate_safetensors("head", "head/format_missing.safetensors", head, lambda hdr, dat: hdr["__metadata__"].pop("format"))
    mutate_safetensors("head", "head/scale_link_unknown.safetensors", head, set_meta("scale_link", "cube"))
    mutate_safetensors("head", "head/nan_parameter.safetensors", head, nan_first)
    mutate_safetensors("head", "head/missing_block.safetensors", head, drop_first)
    mutate_safetensors("head", "head/block_wrong_shape.safetensors", head, reshape_first)
    out("head", "head/truncated.safetensors", read(head)[: len(read(head)) // 2])
    out("head", "head/empty.safetensors", b"")
    mutate_safetensors("delta", "delta/other_base_size.safetensors", delta, set_meta("H", "17"))
    mutate_safetensors("delta", "delta/other_base_checksum.safetensors", delta, set_meta("base_checksum", "0" * 16))
    mutate_safetensors("delta", "delta/latent_2_64_minus_1.safetensors", delta, set_meta("D", str(2**64 - 1)))
    mutate_safetensors("delta", "delta/format_wrong.safetensors", delta, set_meta("format", "causalqwen.head/1"))
    mutate_safetensors("delta", "delta/nan_weight.safetensors", delta, nan_first)
    mutate_safetensors("delta", "delta/epsilon_not_number.safetensors", delta, set_meta("epsilon", "nan"))
    out("delta", "delta/truncated.safetensors", read(delta)[:-7])

    good_npy = read("good/features.npy")
    hlen = struct.unpack("<H", good_npy[8:10])[0]
    npy_header = good_npy[10:10 + hlen].decode("latin1")
    npy_data = good_npy[10 + hlen:]

    def npy(header, data=npy_data, magic=b"\x93NUMPY\x01\x00"):
        raw = header.encode("latin1")
        raw += b" " * (-(len(magic) + 2 + len(raw) + 1) % 64) + b"\n"
        return magic + struct.pack("<H", len(raw)) + raw + data

    shape_text = npy_header[npy_header.index("'shape'"):npy_header.index(")") + 1]
    out("features", "features/bad_magic.npy", b"\x93NUMPX" + good_npy[6:])
    out("features", "features/version_9.npy", b"\x93NUMPY\x09\x00" + good_npy[8:])
    out("features", "features/header_past_end.npy", good_npy[:8] + struct.pack("<H", 60000) + good_npy[10:200])
    out("features", "features/empty.npy", b"")
    out("features", "features/huge_shape_list.npy",
        npy(npy_header.replace(shape_text, "'shape': (" + "1, " * 5000 + ")"), magic=b"\x93NUMPY\x02\x00"))
    out("features", "features/shape_product_overflows.npy",
        npy(npy_header.replace(shape_text, "'shape': (4294967296, 4294967296, 16)")))
    out("features", "features/shape_negative.npy", npy(npy_header.replace(shape_text, "'shape': (-2, 16)")))
    out("features", "features/dtype_int32.npy", npy(npy_header.replace("'<f8'", "'<i4'").replace("'<f4'", "'<i4'")))
    out("features", "features/dtype_big_endian.npy", npy(npy_header.replace("'<f8'", "'>f8'").replace("'<f4'", "'>f4'")))
    out("features", "features/fortran_order.npy", npy(npy_header.replace("False", "True")))
    out("features", "features/header_not_dict.npy", npy("[1, 2, 3]"))
    out("features", "features/data_truncated.npy", good_npy[:-8])
    out("features", "features/wrong_hidden_size.npy", npy(npy_header.replace(shape_text, "'shape': (" + str(
        len(npy_data) // (8 if "<f8" in npy_header else 4) // 8) + ", 8)")))
    out("features", "features/nan_feature.npy", npy(npy_header, struct.pack("<d", float("nan")) + npy_data[8:]
                                                    if "<f8" in npy_header else struct.pack("<f", float("nan")) + npy_data[4:]))

    with open(os.path.join(HERE, "MANIFEST"), "w") as f:
        f.write("\n".join(manifest) + "\n")
    print(len(manifest), "cases")


main()
