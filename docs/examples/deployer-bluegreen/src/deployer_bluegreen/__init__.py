"""deployer-bluegreen: a target that deploys each release as a new "colour" of
containers on the local Docker engine, waits until all of them are healthy, then
switches a small reverse proxy of its own (stdlib Python, on 127.0.0.1) to them in one
step and removes the old colour. The manifest imports nothing heavy."""

from deployer import hookimpl
from deployer.targets import TargetInfo, TargetPhases, phase_from

from deployer_bluegreen.settings import NAME, parse_settings


def _driver():
    from deployer_bluegreen.driver import BlueGreenDriver

    return BlueGreenDriver()


@hookimpl
def deployer_register_targets(register):
    register(
        TargetInfo(
            name=NAME,
            description="blue/green containers on the local Docker engine behind a proxy on 127.0.0.1",
            driver=_driver,
            phases={
                "network": "a bridge network per app and stack",
                "registry": "the core-built image in the local image store",
                "ingress": "a stdlib Python proxy container on 127.0.0.1:<host_port>",
                "compute": "a new colour of N replicas, switched to when all are healthy",
            },
            parse_settings=parse_settings,
        )
    )


phases = TargetPhases(
    NAME,
    network=phase_from("deployer_bluegreen.phases", "network"),
    registry=phase_from("deployer_bluegreen.phases", "registry"),
    ingress=phase_from("deployer_bluegreen.phases", "ingress"),
    compute=phase_from("deployer_bluegreen.phases", "compute"),
)
deployer_network = phases.deployer_network
deployer_registry = phases.deployer_registry
deployer_ingress = phases.deployer_ingress
deployer_compute = phases.deployer_compute
