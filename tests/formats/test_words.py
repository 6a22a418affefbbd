from mlops_oncall.formats.words import join_words, plural


def test_plural_is_singular_only_for_one():
    assert [plural(n, "risk") for n in (0, 1, 2)] == ["0 risks", "1 risk", "2 risks"]
    assert plural(1, "entry", "entries") == "1 entry"
    assert plural(3, "entry", "entries") == "3 entries"


def test_join_words_drops_a_doubled_word_at_the_seam():
    assert join_words("Fraud model server", "server live") == "Fraud model server live"
    assert join_words("Fraud model Server", "server ready") == "Fraud model Server ready"
    assert join_words("Fraud model", "server live") == "Fraud model server live"
    assert join_words("fraud", "model fraud ready") == "fraud model fraud ready"
    assert join_words("server", "server") == "server server"  # nothing would be left
    assert join_words("", "ping") == "ping"
