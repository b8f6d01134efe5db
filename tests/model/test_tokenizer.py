"""tokenizer.json through `tokenizers`, bos/eos from tokenizer_config.json."""
from __future__ import annotations

import json

import pytest
from tokenizers import Tokenizer as HFTokenizer
from tokenizers import models, pre_tokenizers

from model.tokenizer import Tokenizer, TokenizerError

BOS, EOS = "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"


@pytest.fixture
def tokenizer_dir(tmp_path):
    vocab = {"[UNK]": 0, BOS: 1, EOS: 2, "theorem": 3, "foo": 4, ":": 5, "x": 6, "=": 7}
    backend = HFTokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    backend.add_special_tokens([BOS, EOS])
    backend.save(str(tmp_path / "tokenizer.json"))
    config = {"add_bos_token": True, "add_eos_token": False, "bos_token": {"content": BOS, "lstrip": False},
              "eos_token": EOS, "tokenizer_class": "LlamaTokenizerFast"}
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(config))
    return tmp_path


def test_encode_adds_bos_as_configured_and_decodes(tokenizer_dir):
    tok = Tokenizer.from_dir(tokenizer_dir)
    assert (tok.bos_token_id, tok.eos_token_id, tok.vocab_size) == (1, 2, 8)
    assert tok.encode("theorem foo : x = x") == [1, 3, 4, 5, 6, 7, 6]
    assert tok.encode("theorem foo", add_bos=False) == [3, 4]
    assert tok.decode([1, 3, 4, 2]) == "theorem foo"
    assert BOS in tok.decode([1, 3], skip_special_tokens=False)


def test_without_tokenizer_config_there_is_no_bos(tokenizer_dir):
    (tokenizer_dir / "tokenizer_config.json").unlink()
    tok = Tokenizer.from_dir(tokenizer_dir)
    assert tok.bos_token_id is None and tok.encode("x = x") == [6, 7, 6]
    with pytest.raises(TokenizerError, match="no bos_token"):
        tok.encode("x", add_bos=True)


def test_bad_files_are_reported(tokenizer_dir, tmp_path_factory):
    (tokenizer_dir / "tokenizer_config.json").write_text(json.dumps({"bos_token": "<s>"}))
    with pytest.raises(TokenizerError, match=r"bos_token '<s>' is not in the vocabulary"):
        Tokenizer.from_dir(tokenizer_dir)
    with pytest.raises(TokenizerError, match="no tokenizer.json"):
        Tokenizer.from_dir(tmp_path_factory.mktemp("empty"))
