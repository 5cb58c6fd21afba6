"""``up --watch``'s report: the serving line names the image ``up`` deployed, which a
change made while it ran may have moved past the content hash the watch saw."""

from __future__ import annotations

from deployer import api, watch
from deployer.image import content_hash, repository
from deployer.models import Deployment
from deployer.testing import write_project
from deployer.testing.recorder import LineReporter


def test_the_serving_line_names_the_image_up_built_when_the_context_changed_meanwhile(tmp_path, monkeypatch):
    """From a trial: a file written into the build context while ``up`` ran made the line
    name a tag that was never built (the hash the watch computed before ``up``)."""
    config = write_project(tmp_path, app={"name": "watched"})
    reporter = LineReporter()
    session = api.open_session(config=config, reporter=reporter)
    app = session.project.app
    before = f"{repository(app)}:{content_hash(app.build)}"

    def up_while_the_context_changes(session, environ):
        (app.build.context / "app.py").write_text((app.build.context / "app.py").read_text() + "\n# edited\n")
        built = f"{repository(app)}:{content_hash(app.build)}"  # what up reads, builds and deploys
        return Deployment("local", "dev", "http://127.0.0.1:8080", image=built)

    monkeypatch.setattr(api, "up", up_while_the_context_changes)
    assert watch.watch(session, rounds=0) == 1
    after = f"{repository(app)}:{content_hash(app.build)}"
    assert after != before
    assert f"serving http://127.0.0.1:8080 ({after})" in reporter.lines, reporter.lines
