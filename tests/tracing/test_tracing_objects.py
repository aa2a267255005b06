"""Objects, tables, refs, tags and aliases through the real weave client on the local store."""

from __future__ import annotations

from typing import Any

import pytest
import weave


class Echo(weave.Model):
    prefix: str

    @weave.op
    def predict(self, question: str) -> str:
        return self.prefix + question


def test_publish_versions_and_refs(client: Any) -> None:
    first = weave.publish({"lr": 0.1, "layers": [1, 2]}, name="config")
    again = weave.publish({"layers": [1, 2], "lr": 0.1}, name="config")  # same content
    second = weave.publish({"lr": 0.2}, name="config")
    assert first.digest == again.digest != second.digest
    assert weave.ref("config:v0").get()["lr"] == 0.1
    assert weave.ref("config:v1").get()["lr"] == 0.2
    assert weave.ref("config").get()["lr"] == 0.2  # latest
    assert weave.ref(first.uri).get()["layers"] == [1, 2]
    assert weave.ref(f"config:{second.digest}").get()["lr"] == 0.2
    with pytest.raises(Exception, match="not found"):
        weave.ref("config:v7").get()


def test_dataset_rows_and_row_refs(client: Any) -> None:
    rows = [{"question": f"q{i}", "answer": i} for i in range(25)]
    ref = weave.publish(weave.Dataset(name="qa", rows=rows))
    ds = weave.ref(ref.uri).get()
    assert len(ds.rows) == 25
    got = list(ds.rows)
    assert [r["answer"] for r in got] == list(range(25))
    assert ds.rows[3]["question"] == "q3"
    # appending makes a new version that shares the stored rows
    bigger = weave.Dataset(name="qa", rows=[*rows, {"question": "q25", "answer": 25}])
    ref2 = weave.publish(bigger)
    assert ref2.digest != ref.digest
    assert len(weave.ref("qa:v1").get().rows) == 26
    assert len(weave.ref("qa:v0").get().rows) == 25


def test_large_table_is_uploaded_in_chunks(client: Any) -> None:
    rows = [{"i": i, "text": "x" * 20} for i in range(2500)]  # above the client's chunk threshold
    ref = weave.publish(weave.Dataset(name="big", rows=rows))
    ds = weave.ref(ref.uri).get()
    values = [r["i"] for r in ds.rows]
    assert values == list(range(2500))


def test_model_round_trip_and_predict(client: Any) -> None:
    ref = weave.publish(Echo(prefix=">> "), name="echo")
    model = weave.ref("echo:latest").get()
    assert model.prefix == ">> "
    assert model.predict("hi") == ">> hi"
    assert ref.name == "echo"
    objs = client._objects(filter={"base_object_classes": ["Model"]})
    assert [o.object_id for o in objs] == ["echo"]


def test_prompts(client: Any) -> None:
    weave.publish(weave.StringPrompt("Answer briefly: {question}"), name="qa-prompt")
    weave.publish(
        weave.MessagesPrompt([{"role": "system", "content": "You are {tone}."}]), name="sys"
    )
    assert weave.ref("qa-prompt").get().format(question="why?") == "Answer briefly: why?"
    messages = weave.ref("sys").get().format(tone="terse")
    assert messages[0]["content"] == "You are terse."


def test_tags_and_aliases_registry_workflow(client: Any) -> None:
    """Chapter 05's local registry: promote by moving an alias, roll back by moving it back."""
    v0 = weave.publish(Echo(prefix="v0:"), name="bot")
    v1 = weave.publish(Echo(prefix="v1:"), name="bot")
    client.add_tags(v0, ["baseline", "reviewed"])
    client.set_aliases(v0, "production")
    assert client.get_tags_and_aliases(v0) == (["baseline", "reviewed"], ["production"])
    assert client.get_aliases(v1) == ["latest"]
    assert weave.ref("bot:production").get().prefix == "v0:"

    client.set_aliases(v1, ["production", "staging"])  # promote: the alias moves
    assert client.get_aliases(v0) == []
    assert client.get_aliases(v1) == ["production", "staging", "latest"]
    assert weave.ref("bot:production").get().prefix == "v1:"
    assert client.list_aliases() == ["production", "staging"]
    assert client.list_tags() == ["baseline", "reviewed"]

    client.set_aliases(v0, "production")  # roll back
    assert weave.ref("bot:production").get().prefix == "v0:"
    client.remove_aliases(v1, "staging")
    client.remove_tags(v0, ["reviewed"])
    assert client.get_tags_and_aliases(v1) == ([], ["latest"])
    assert client.get_tags(v0) == ["baseline"]
    for reserved in ("latest", "v3"):
        with pytest.raises(ValueError, match="reserved"):
            client.set_aliases(v1, reserved)
    tagged = client._objects(filter={"tags": ["baseline"]})
    assert [o.digest for o in tagged] == [v0.digest]
    aliased = client._objects(filter={"aliases": ["production"]})
    assert [o.digest for o in aliased] == [v0.digest]


def test_publish_with_tags_and_aliases(client: Any) -> None:
    ref = weave.publish({"a": 1}, name="cfg", tags=["exp"], aliases=["best"])
    assert weave.get_tags_and_aliases(ref) == (["exp"], ["best", "latest"])


def test_delete_object_versions(client: Any) -> None:
    v0 = weave.publish({"n": 0}, name="thing")
    v1 = weave.publish({"n": 1}, name="thing")
    client.set_aliases(v1, "prod")
    client.delete_object_version(v1)
    assert weave.ref("thing:latest").get()["n"] == 0
    with pytest.raises(Exception, match="deleted"):
        weave.ref(v1.uri).get()
    assert client.list_aliases() == []  # an alias never points at a deleted version
    assert client.delete_all_object_versions("thing") == 1
    with pytest.raises(Exception, match="not found"):
        weave.ref("thing:latest").get()
    assert v0.digest  # the ref object itself stays usable


def test_op_code_is_stored_and_loadable(client: Any) -> None:
    @weave.op
    def shout(text: str) -> str:
        return text.upper() + "!"

    ref = weave.publish(shout)
    loaded = weave.ref(ref.uri).get()
    assert loaded("hey") == "HEY!"
