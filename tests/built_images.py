"""The images a test run built, removed once the whole run is over.

Tests deploy the same small apps from throwaway folders: each folder is a project
(:func:`deployer.image.project_id`), and a test of the same content reuses the image the
first one built (its content-hash tag). Removing a test's images when the test ends
would pull that tag from under a test still starting on another worker, so each test
only notes its project (:func:`note`) and the run's last process removes the projects'
images (:func:`remove`) once every worker is done. A run left about 50 images before.
"""

from __future__ import annotations

from pathlib import Path

from deployer import docker_engine
from deployer.errors import EnvironmentProblem
from deployer.image import project_id, remove_images

noted: set[tuple[str, str]] = set()
"""``(app name, project id)`` of every project this process deployed."""


def note(app_name: str, config_file: Path) -> None:
    """Remember that the project of ``config_file`` built images of ``app_name``."""
    noted.add((app_name, project_id(config_file)))


def remove(projects: set[tuple[str, str]]) -> None:
    """Untag the images of ``projects`` that no container uses (``down --images`` of each)."""
    if not projects:
        return
    try:
        client = docker_engine.connect()
    except EnvironmentProblem:
        return
    for app_name, project in sorted(projects):
        remove_images(app_name, project=project, client=client)
