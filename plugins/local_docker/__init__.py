"""The ``local`` target: the app on the local Docker engine, behind an HAProxy container.

Docker itself is the state: every object carries ``dev.deployer.*`` labels (named in
:mod:`deployer.docker_labels`). :mod:`.plugin` is the manifest; each phase has its own module and
:mod:`.driver` applies them.
"""
