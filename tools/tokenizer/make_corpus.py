#!/usr/bin/env python3
"""Writes tests/data/tokenizer/corpus.jsonl: the stress corpus for the tokenizer goldens.

One JSON object a line: {"name": ..., "text": ...}. The texts are written here with explicit
escapes so that every invisible character is visible in review.

    /usr/bin/python3 tools/tokenizer/make_corpus.py
"""
import json
import pathlib
import random
import unicodedata

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "data" / "tokenizer" / "corpus.jsonl"
FUZZ_OUT = ROOT / "tests" / "data" / "tokenizer" / "fuzz.jsonl"

# Random texts drawn from characters and fragments where tokenizers tend to differ: every kind
# of white space (incl. U+0085, U+FEFF, U+200B), contractions, digits of several scripts, CJK
# inside and outside DeepSeek's CJK range, combining marks, emoji parts, non-BMP characters,
# noncharacters and special-token text.
FUZZ_POOL = list("aZ\u00e9 ,.!?'\"-_\t\n\r0123456789") + [
    "'s", "'T", "'ll", "'ve", "'re", "'m", "'d", "\u0085", "\ufeff", "\u00a0", "\u3000", "\u2003", "\u200b",
    "\u2028", "\u000b", "\u000c", "\u001c", "\u4e2d", "\u6587", "\u3042", "\u30a2", "\u30fc", "\ud55c",
    "\u0915\u093f", "\u0e01\u0e34", "\u0627\u064e", "\u05e9\u05b8", "\u03b1", "\u0436", "e\u0301", "\u0301",
    "\U0001f600", "\U0001f44d\U0001f3fd", "\u200d", "\ufe0f", "\U0001f1eb\U0001f1f7", "\U0001d400", "\U0001d7d8",
    "\u2460", "\u00bd", "\u0661", "\uff11", "\uff21", "\u00ab", "\u2014", "\u2026", "\u00a9", "\u20ac", "$", "#",
    "@", "<|endoftext|>", "<", "|", "\\", "\u9fa6", "\u3400", "\U00020000", "\u3001", "\u3002", "\uff01",
    "\u0000", "\u007f", "\ue000", "\uffff", "\U0010ffff", " " * 5, "\n" * 3, "\r\n",
]
FUZZ_CASES = 400

PROSE = (
    "It was the best of times, it was the worst of times, it was the age of wisdom, it was the age "
    "of foolishness, it was the epoch of belief, it was the epoch of incredulity, it was the season "
    "of Light, it was the season of Darkness, it was the spring of hope, it was the winter of despair."
)

CASES = [
    ("empty", ""),
    ("single_space", " "),
    ("single_letter", "a"),
    ("english_prose", PROSE),
    ("english_dialogue", "\"Well,\" she said, \"I don't know what you're talking about!\" He shrugged... (Really?)"),
    ("contractions_lower", "it's I'll we've they're I'm he'd don't can't won't y'all"),
    ("contractions_upper", "IT'S I'LL WE'VE THEY'RE I'M HE'D DON'T 'S 'T 'LL 'RE 'VE 'M 'D"),
    ("contractions_mixed", "It'S You'Ll 'sweet' 'tis 'twas rock'n'roll O'Neill's"),
    ("apostrophe_variants", "it\u2019s I\u2019ll `quoted' ''double'' '''triple'''"),
    ("latin_nfc_accents", unicodedata.normalize("NFC", "caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00c5ngstr\u00f6m \u00fcber se\u00f1or fa\u00e7ade cr\u00e8me br\u00fbl\u00e9e")),
    ("latin_nfd_accents", unicodedata.normalize("NFD", "caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00c5ngstr\u00f6m \u00fcber se\u00f1or fa\u00e7ade cr\u00e8me br\u00fbl\u00e9e")),
    ("latin_extended", "\u0141\u00f3d\u017a \u0160ibenik \u0218tef\u0103ne\u0219ti \u0110akovo \u00deingvellir \u0127a\u017c-\u017cebbu\u0121 \u1ec6 Vi\u1ec7t Nam \u01c4 \u01c5 \u01c6 \ufb01 \ufb02"),
    ("vietnamese_nfd", unicodedata.normalize("NFD", "Ti\u1ebfng Vi\u1ec7t c\u00f3 d\u1ea5u: ng\u01b0\u1eddi, \u0111\u01b0\u1eddng, h\u1ecdc")),
    ("greek", "\u0397 \u03b3\u03c1\u03ae\u03b3\u03bf\u03c1\u03b7 \u03ba\u03b1\u03c6\u03ad \u03b1\u03bb\u03b5\u03c0\u03bf\u03cd \u03c0\u03b7\u03b4\u03ac\u03b5\u03b9 \u03c0\u03ac\u03bd\u03c9 \u03b1\u03c0\u03cc \u03c4\u03bf\u03bd \u03c4\u03b5\u03bc\u03c0\u03ad\u03bb\u03b9 \u03c3\u03ba\u03cd\u03bb\u03bf; \u1f08\u03c1\u03c7\u1f74 \u1f21\u03bc\u03b9\u03c3\u03c5 \u03c0\u03b1\u03bd\u03c4\u03cc\u03c2."),
    ("cyrillic", "\u0421\u044a\u0435\u0448\u044c \u0436\u0435 \u0435\u0449\u0451 \u044d\u0442\u0438\u0445 \u043c\u044f\u0433\u043a\u0438\u0445 \u0444\u0440\u0430\u043d\u0446\u0443\u0437\u0441\u043a\u0438\u0445 \u0431\u0443\u043b\u043e\u043a, \u0434\u0430 \u0432\u044b\u043f\u0435\u0439 \u0447\u0430\u044e. \u0490\u0430\u043d\u043e\u043a \u0407\u0436\u0430\u043a \u0402\u043e\u0440\u0452\u0435"),
    ("arabic", "\u0627\u0644\u0633\u064e\u0651\u0644\u0627\u0645\u064f \u0639\u064e\u0644\u064e\u064a\u0652\u0643\u064f\u0645\u0652 \u0648\u0631\u062d\u0645\u0629 \u0627\u0644\u0644\u0647 \u0648\u0628\u0631\u0643\u0627\u062a\u0647\u060c \u0643\u064a\u0641 \u062d\u0627\u0644\u0643\u061f \u0661\u0662\u0663"),
    ("hebrew", "\u05e9\u05b8\u05c1\u05dc\u05d5\u05b9\u05dd \u05e2\u05d5\u05b9\u05dc\u05b8\u05dd! \u05d6\u05d4\u05d5 \u05de\u05d1\u05d7\u05df \u05e9\u05dc \u05d8\u05e7\u05e1\u05d8 \u05e2\u05d1\u05e8\u05d9 \u05d1\u05e9\u05e0\u05ea \u05ea\u05e9\u05e4\u05f4\u05d3."),
    ("devanagari", "\u0939\u093f\u0928\u094d\u0926\u0940 \u092d\u093e\u0937\u093e \u0915\u094d\u0937\u0924\u094d\u0930\u093f\u092f \u0936\u094d\u0930\u0940 \u0926\u094d\u0935\u093e\u0930\u093e \u0932\u093f\u0916\u0940 \u0917\u0908\u0964 \u0967\u0968\u0969 \u0928\u092e\u0938\u094d\u0924\u0947\u0903"),
    ("thai", "\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22\u0e40\u0e1b\u0e47\u0e19\u0e20\u0e32\u0e29\u0e32\u0e17\u0e35\u0e48\u0e44\u0e21\u0e48\u0e21\u0e35\u0e0a\u0e48\u0e2d\u0e07\u0e27\u0e48\u0e32\u0e07\u0e23\u0e30\u0e2b\u0e27\u0e48\u0e32\u0e07\u0e04\u0e33 \u0e51\u0e52\u0e53"),
    ("chinese", "\u6211\u7231\u5317\u4eac\u5929\u5b89\u95e8\uff0c\u5929\u5b89\u95e8\u4e0a\u592a\u9633\u5347\u3002\u4eca\u5929\u5929\u6c14\u5f88\u597d\uff01\u300a\u7ea2\u697c\u68a6\u300b\u662f\u4e00\u90e8\u5c0f\u8bf4\u3002"),
    ("chinese_traditional_and_rare", "\u9f8d\u9cf3\u5448\u7965 \u9f98 \u9fa5\u9fa6\u9fef\u9fff \u3400\u3401\u4dbf \U00020000\U0002a6d6 \U00030000 \uf900\ufa0e"),
    ("chinese_with_latin_digits", "\u4f7f\u7528GPT-4\u6a21\u578b\u5904\u7406\u4e862024\u5e74\u76843\u4e2a\u4efb\u52a1abc\u4e2d\u6587"),
    ("japanese_mixed", "\u65e5\u672c\u8a9e\u306e\u6587\u7ae0\u3067\u3059\u3002\u30ab\u30bf\u30ab\u30ca\u3068\u3072\u3089\u304c\u306a\u3001\u305d\u3057\u3066\u6f22\u5b57\u3002\u30fc\u30fb\u3005\u3006"),
    ("japanese_halfwidth_kana", "\uff76\uff80\uff76\uff85 \uff8a\uff9d\uff76\uff78 \uff9e\uff9f \uff61\uff62\uff63"),
    ("hangul", "\ud55c\uad6d\uc5b4 \ud14c\uc2a4\ud2b8 \ubb38\uc7a5\uc785\ub2c8\ub2e4. \uc548\ub155\ud558\uc138\uc694!"),
    ("hangul_jamo_nfd", unicodedata.normalize("NFD", "\ud55c\uad6d\uc5b4 \ud14c\uc2a4\ud2b8") + " \u1100\u1161\u11a8 \u3131\u314f"),
    ("mixed_scripts", "English \u0440\u0443\u0441\u0441\u043a\u0438\u0439 \u0627\u0644\u0639\u0631\u0628\u064a\u0629 \u4e2d\u6587 \u65e5\u672c\u8a9e \ud55c\uad6d\uc5b4 \u0939\u093f\u0928\u094d\u0926\u0940 \u0e44\u0e17\u0e22 \u05e2\u05d1\u05e8\u05d9\u05ea \u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac"),
    ("other_scripts", "\u10e5\u10d0\u10e0\u10d7\u10e3\u10da\u10d8 \u0570\u0561\u0575\u0565\u0580\u0565\u0576 \u12a0\u121b\u122d\u129b \u0dc3\u0dd2\u0d82\u0dc4\u0dbd \u0ba4\u0bae\u0bbf\u0bb4\u0bcd \u1781\u17d2\u1798\u17c2\u179a \u1019\u103c\u1014\u103a\u1019\u102c \u0f56\u0f7c\u0f51\u0f0b \u13e3\u13b3\u13a9 \u1820\u1828\u1830"),
    ("emoji_basic", "I love pizza \U0001f355 and cats \U0001f431! \U0001f600\U0001f603\U0001f604 \u2764 \u2600 \u2614"),
    ("emoji_zwj_family", "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466 family \U0001f469\u200d\U0001f4bb coder \U0001f3f3\ufe0f\u200d\U0001f308 \U0001f3f4\u200d\u2620\ufe0f"),
    ("emoji_skin_tones", "\U0001f44d\U0001f3fb\U0001f44d\U0001f3fc\U0001f44d\U0001f3fd\U0001f44d\U0001f3fe\U0001f44d\U0001f3ff \U0001f9d1\U0001f3fd\u200d\U0001f680"),
    ("emoji_flags", "\U0001f1eb\U0001f1f7\U0001f1ef\U0001f1f5\U0001f1fa\U0001f1f8 \U0001f1e9\U0001f1ea \U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"),
    ("variation_selectors", "\u2764\ufe0f \u2764\ufe0e \u263a\ufe0f \u263a\ufe0e 1\ufe0f\u20e3 #\ufe0f\u20e3 \u8fbb\U000e0100 \u00a9\ufe0f"),
    ("combining_marks", "Z\u0324\u0354\u0367\u0311\u0313a\u0308\u0356\u032d\u0308\u0307l\u036e\u0312\u036b\u0067\u030c\u0317\u035a\u031ao\u0319\u0314\u036e\u0307\u0350\u0307 e\u0301\u0302\u0303 \u0301\u0301 a\u20dd"),
    ("non_bmp_letters_digits", "\U0001d400\U0001d401\U0001d402 \U0001d7d8\U0001d7d9\U0001d7da \U00010330\U00010331 \U00012000 \U0001d11e \U0001f0a1 \U00010400\U00010428"),
    ("whitespace_runs", "a  b   c    d     e\n\nf\n\n\ng    \n    h"),
    ("leading_trailing_spaces", "   leading and trailing   "),
    ("only_spaces", "          "),
    ("tabs", "\tindented\n\t\tdouble\tin\tline \t mixed\t"),
    ("crlf", "line one\r\nline two\r\n\r\nline four\r\n"),
    ("cr_only", "old mac\rline\r\r"),
    ("newlines_only", "\n\n\n"),
    ("space_before_newline", "end \nstart  \n  indented"),
    ("unicode_spaces_zs", "a\u00a0b\u2003c\u3000d\u2002e\u2009f\u200ag\u202fh\u205fi\u1680j"),
    ("unicode_space_runs", "x\u00a0\u00a0y \u00a0z\u3000\u3000\u4e2d \u2003 word"),
    ("nel_u0085", "first\u0085second \u0085 third\u0085\u0085"),
    ("bom_ufeff", "\ufeffstart of file \ufeff middle\ufeff"),
    ("nel_next_to_punct", "\u0085!? x\u0085.\u0085 (\u0085) \u0085\u0085- a \u0085b"),
    ("bom_next_to_punct", "\ufeff!? x\ufeff.\ufeff (\ufeff) \ufeff\ufeff- a \ufeffb"),
    ("bom_after_space", " \ufeffword  \ufeff\ufeff x \ufeff"),
    ("nel_after_space", " \u0085word  \u0085\u0085 x \u0085"),
    ("zero_width", "zero\u200bwidth\u200c joiner\u200d space\u2060 \u180e"),
    ("line_paragraph_separators", "line\u2028sep para\u2029sep \u2028 x"),
    ("vertical_tab_form_feed", "a\u000bb\u000cc \u000b\u000c d"),
    ("info_separators", "a\u001cb\u001dc\u001ed\u001fe \u001c f"),
    ("control_chars", "bell\u0007 null\u0000 del\u007f esc\u001b[31m c1\u0080\u009f"),
    ("digits", "0 1 12 123 1234 12345 123456 1234567890 007"),
    ("numbers_formatted", "3.14159 -42 +7 1,000,000 1e10 0x1F 50% $19.99 \u20ac5 \u00a312"),
    ("unicode_digits", "\u0661\u0662\u0663\u0664 \u0967\u0968\u0969\u096a \u0e51\u0e52\u0e53 \uff11\uff12\uff13\uff14 \U0001d7ce\U0001d7cf"),
    ("unicode_numbers_no_nl", "\u2460\u2461\u2462 \u216b\u2160 \u00bd\u00bc\u00be \u00b2\u00b3 \u3007\u4e00"),
    ("dates_times", "2024-03-15T12:34:56Z on 15/03/2024 at 12:34 (UTC+01:00)"),
    ("phone_ids", "+1 (555) 123-4567, ID#A1B2C3, v1.2.3-beta.4"),
    ("python_code", "def fib(n: int) -> int:\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n\nprint([fib(i) for i in range(10)])  # 0, 1, 1, 2\n"),
    ("cpp_code", "#include <vector>\nint main() {\n\tstd::vector<int> v{1, 2, 3};\n\tfor (auto& x : v) x *= 2;  // double\n\treturn v.size() > 2 ? 0 : -1;\n}\n"),
    ("json_code", "{\"name\": \"dschat\", \"version\": [0, 1], \"nested\": {\"a\": null, \"b\": true}}"),
    ("html_code", "<!DOCTYPE html><html><body><p class=\"x\">Hello&nbsp;&amp; bye</p></body></html>"),
    ("shell_regex", "grep -E '^[a-z]+\\s*=\\s*\"?[^\"]*\"?$' ~/.config/*.conf | sed 's/\\t/  /g' && echo $?"),
    ("punctuation_runs", "Wait!!! What??? ...and then--- (((nested))) [[x]] {{y}} <<<>>> ;;; ::: ,,, ''' \"\"\""),
    ("punctuation_before_letters", "!important #hashtag @user $var %mod ^caret &amp *ptr _under -dash .dot /path :colon ;semi =eq ?q ~tilde `tick |pipe \\back"),
    ("punctuation_newlines", "end.\n\nNext:\r\n- item\n* item;\n\n"),
    ("unicode_punctuation", "\u201cquoted\u201d \u2018single\u2019 \u00abguillemets\u00bb \u2014 em \u2013 en \u2026 \u00bfqu\u00e9? \u00a1s\u00ed! \u3001\u3002\u300c\u300d\uff01\uff1f"),
    ("symbols", "\u00a9 \u00ae \u2122 \u00b0C \u00b1 \u00d7 \u00f7 \u2260 \u2264 \u2265 \u221e \u2211 \u221a \u2192 \u21d2 \u2605 \u266b \u20bf \u00a5 \u20b9"),
    ("math_text", "Let f(x) = x\u00b2 + 2x + 1; then \u222b\u2080\u00b9 f(x) dx = 7/3 \u2248 2.333 and \u2200\u03b5>0 \u2203\u03b4."),
    ("urls", "See https://example.com/path/to/page?query=1&lang=en#section and http://localhost:8080/api/v1/users/42 or ftp://ftp.example.org/pub/file.tar.gz"),
    ("emails_handles", "mail john.doe+tag@example.co.uk or @someone on social; user_name123@sub.domain.io"),
    ("long_word", "Pneumonoultramicroscopicsilicovolcanoconiosis Donaudampfschifffahrtselektrizit\u00e4tenhauptbetriebswerkbauunterbeamtengesellschaft"),
    ("long_repeated_letters", "a" * 300),
    ("long_random_letters", "qzxjvkwpfmbgtlrdnhscyuoeia" * 12),
    ("long_digits", "31415926535897932384626433832795028841971693993751058209749445923078164062862089986280348253421170679"),
    ("long_spaces_then_word", " " * 100 + "word" + "\t" * 10 + "end"),
    ("long_emoji_run", "\U0001f600" * 40 + "\U0001f468\u200d\U0001f469\u200d\U0001f467" * 5),
    ("long_cjk_run", "\u6c38\u548c\u4e5d\u5e74\u5c81\u5728\u7678\u4e11\u66ae\u6625\u4e4b\u521d\u4f1a\u4e8e\u4f1a\u7a3d\u5c71\u9634\u4e4b\u5170\u4ead\u4fee\u798a\u4e8b\u4e5f" * 4),
    ("special_token_text_gpt2", "Text with <|endoftext|> inside and <|endoftext|><|endoftext|> twice."),
    ("special_like_text", "<|im_start|>user <|fake|> <s> </s> [INST] <<SYS>>"),
    ("markdown", "# Title\n\n## Sub-title\n\n- **bold** and _italic_ and `code`\n1. first\n2. second\n\n> quote\n\n```python\nx = 1\n```\n| a | b |\n|---|---|\n"),
    ("mixed_case_words", "camelCaseWord PascalCase snake_case SCREAMING_CASE kebab-case iPhone eBay McDonald's"),
    ("latin_then_mark_at_start", "\u0301start with combining mark, \u0308\u0308 and \u20dd"),
    ("private_use_and_noncharacters", "\ue000\uf8ff \U000f0000 \ufdd0 \uffff \U0010ffff end"),
    ("replacement_char", "bad \ufffd char \ufffd\ufffd"),
    ("surrogate_neighbours", "\ud7ff\ue000 \U00010000"),
    ("bidi_controls", "\u202eabc\u202c \u200fright\u200e left \u2066iso\u2069"),
    ("fullwidth_latin", "\uff28\uff45\uff4c\uff4c\uff4f\u3000\uff37\uff4f\uff52\uff4c\uff44\uff01 \uff41\uff42\uff43\uff11\uff12\uff13"),
    ("digits_then_cjk", "123\u4e2d\u65874567\u65e5\u672c89"),
    ("cjk_then_punct_newline", "\u4f60\u597d\uff01\n\u518d\u89c1\u3002\r\n\u8c22\u8c22"),
    ("space_punct_newline", "a !?\n\n b ...\r\n"),
    ("tab_newline_mix", " \t\n \t\n\t \n"),
    ("spaces_before_digits", "   123   4567 89"),
    ("nbsp_before_word", "\u00a0word \u00a0\u00a0word2 \u3000\u5b57"),
    ("letters_marks_after_space", " \u0915\u093f \u0e01\u0e34 e\u0301"),
    ("emoji_then_letters", "\U0001f600abc \U0001f44dgood \u2764\ufe0flove"),
]


def main() -> None:
    names = [name for name, _ in CASES]
    assert len(names) == len(set(names)), "duplicate case names"
    with OUT.open("w", encoding="utf-8", newline="\n") as f:
        for name, text in CASES:
            f.write(json.dumps({"name": name, "text": text}, ensure_ascii=True) + "\n")
    print(f"wrote {OUT} ({len(CASES)} cases)")
    rng = random.Random(20261122)
    with FUZZ_OUT.open("w", encoding="utf-8", newline="\n") as f:
        for i in range(FUZZ_CASES):
            text = "".join(rng.choice(FUZZ_POOL) for _ in range(rng.randint(0, 40)))
            f.write(json.dumps({"name": f"fuzz_{i:03d}", "text": text}, ensure_ascii=True) + "\n")
    print(f"wrote {FUZZ_OUT} ({FUZZ_CASES} cases)")


if __name__ == "__main__":
    main()
