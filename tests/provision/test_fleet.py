"""The load-balanced layout (--hosts N --database rds) against moto: what is created and how,
re-runs, scaling, `down`, and failures half-way."""

from __future__ import annotations

import json

import boto3
import moto.settings
import pytest

from tests.provision.conftest import CALLER_CIDR, REGION
from tests.provision.test_inventory import ansible_inventory
from tests.provision.test_lifecycle import live_instances

FLEET = ("up", "--hosts", "3", "--database", "rds")
DEPLOYMENT = [{"Name": "tag:Deployment", "Values": ["chatbot"]}]


@pytest.fixture
def clients(aws):
    """Clients of the other services, inside the same moto mock as ``aws``."""

    def client(name: str):
        return boto3.client(name, region_name=REGION)

    return type(
        "Clients",
        (),
        {
            "ec2": aws.ec2,
            "rds": client("rds"),
            "elbv2": client("elbv2"),
            "secretsmanager": client("secretsmanager"),
            "acm": client("acm"),
        },
    )


def groups_by_role(ec2) -> dict[str, dict]:
    found = ec2.describe_security_groups(Filters=DEPLOYMENT)["SecurityGroups"]
    return {
        next(t["Value"] for t in g["Tags"] if t["Key"] == "Role"): g
        for g in found
        if any(t["Key"] == "Role" for t in g["Tags"])
    }


def sources(group: dict) -> set[tuple[int, str]]:
    found = set()
    for perm in group["IpPermissions"]:
        assert perm["IpProtocol"] == "tcp"
        assert perm["FromPort"] == perm["ToPort"]
        found |= {(perm["FromPort"], r["CidrIp"]) for r in perm.get("IpRanges", [])}
        found |= {(perm["FromPort"], r["CidrIpv6"]) for r in perm.get("Ipv6Ranges", [])}
        found |= {(perm["FromPort"], p["GroupId"]) for p in perm.get("UserIdGroupPairs", [])}
    return found


def the_balancer(elbv2) -> dict:
    [balancer] = elbv2.describe_load_balancers()["LoadBalancers"]
    return balancer


def the_target_group(elbv2) -> dict:
    [group] = elbv2.describe_target_groups()["TargetGroups"]
    return group


def targets(elbv2) -> set[str]:
    health = elbv2.describe_target_health(TargetGroupArn=the_target_group(elbv2)["TargetGroupArn"])[
        "TargetHealthDescriptions"
    ]
    return {h["Target"]["Id"] for h in health if h["TargetHealth"]["State"] != "unused"}


def the_database(rds) -> dict:
    [instance] = rds.describe_db_instances()["DBInstances"]
    return instance


def app_hosts(ec2) -> list[dict]:
    hosts = [i for i in live_instances(ec2) if {"Key": "Role", "Value": "app"} in i.get("Tags", [])]
    return sorted(hosts, key=lambda i: i["InstanceId"])


def names(hosts: list[dict]) -> list[str]:
    return sorted(next(t["Value"] for t in h["Tags"] if t["Key"] == "Name") for h in hosts)


def test_network_spans_two_zones_with_public_and_database_subnets(aws, public_key, run_cli):
    result = run_cli(*FLEET)
    assert result.code == 0, result.err
    [vpc] = aws.ec2.describe_vpcs(Filters=DEPLOYMENT)["Vpcs"]
    subnets = aws.ec2.describe_subnets(Filters=DEPLOYMENT)["Subnets"]
    roles = {}
    for subnet in subnets:
        assert subnet["VpcId"] == vpc["VpcId"]
        role = next(t["Value"] for t in subnet["Tags"] if t["Key"] == "Role")
        roles.setdefault(role, []).append(subnet)
    assert {r: len(s) for r, s in roles.items()} == {"public": 2, "db": 2}
    for tier in roles.values():
        assert len({s["AvailabilityZone"] for s in tier}) == 2
    assert all(s["MapPublicIpOnLaunch"] for s in roles["public"])
    assert not any(s["MapPublicIpOnLaunch"] for s in roles["db"])
    [gateway] = aws.ec2.describe_internet_gateways(Filters=DEPLOYMENT)["InternetGateways"]
    assert gateway["Attachments"][0]["VpcId"] == vpc["VpcId"]
    [table] = aws.ec2.describe_route_tables(Filters=DEPLOYMENT)["RouteTables"]
    assert {
        "DestinationCidrBlock": "0.0.0.0/0",
        "GatewayId": gateway["InternetGatewayId"],
    }.items() <= next(
        r for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"
    ).items()
    # Only the public subnets route to the internet; the database subnets have no way out.
    associated = {a["SubnetId"] for a in table["Associations"] if "SubnetId" in a}
    assert associated == {s["SubnetId"] for s in roles["public"]}


def test_security_groups_chain_alb_to_hosts_to_database(aws, public_key, run_cli):
    assert run_cli(*FLEET).code == 0
    groups = groups_by_role(aws.ec2)
    alb, app = (groups[role]["GroupId"] for role in ("alb", "app"))
    assert sources(groups["alb"]) == {(80, "0.0.0.0/0")}
    assert sources(groups["app"]) == {(80, alb), (22, CALLER_CIDR)}
    assert sources(groups["db"]) == {(5432, app)}
    for host in app_hosts(aws.ec2):
        assert [g["GroupId"] for g in host["SecurityGroups"]] == [app]


def test_load_balancer_checks_ready_and_has_every_host(aws, clients, public_key, run_cli):
    result = run_cli(*FLEET)
    assert result.code == 0, result.err
    balancer = the_balancer(clients.elbv2)
    assert balancer["Scheme"] == "internet-facing"
    assert balancer["Type"] == "application"
    public = {
        s["SubnetId"]
        for s in aws.ec2.describe_subnets(Filters=DEPLOYMENT)["Subnets"]
        if {"Key": "Role", "Value": "public"} in s["Tags"]
    }
    assert {z["SubnetId"] for z in balancer["AvailabilityZones"]} == public
    assert balancer["SecurityGroups"] == [groups_by_role(aws.ec2)["alb"]["GroupId"]]
    group = the_target_group(clients.elbv2)
    assert (group["HealthCheckPath"], group["HealthCheckProtocol"]) == ("/ready", "HTTP")
    assert group["Matcher"] == {"HttpCode": "200"}
    attributes = {
        a["Key"]: a["Value"]
        for a in clients.elbv2.describe_target_group_attributes(
            TargetGroupArn=group["TargetGroupArn"]
        )["Attributes"]
    }
    assert attributes["deregistration_delay.timeout_seconds"] == "60"
    [listener] = clients.elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])[
        "Listeners"
    ]
    assert (listener["Port"], listener["Protocol"]) == (80, "HTTP")
    assert listener["DefaultActions"][0]["Type"] == "forward"
    assert listener["DefaultActions"][0]["TargetGroupArn"] == group["TargetGroupArn"]
    hosts = app_hosts(aws.ec2)
    assert len(hosts) == 3
    assert targets(clients.elbv2) == {h["InstanceId"] for h in hosts}
    assert f"ready: http://{balancer['DNSName']}/" in result.out


def test_hosts_are_hardened_and_spread_over_both_zones(aws, public_key, run_cli):
    assert run_cli(*FLEET).code == 0
    hosts = app_hosts(aws.ec2)
    assert names(hosts) == [f"chatbot-appliance-chatbot-{i}" for i in (1, 2, 3)]
    assert len({h["Placement"]["AvailabilityZone"] for h in hosts}) == 2
    for host in hosts:
        assert host["ImageId"] == aws.amd64_ami
        assert host["MetadataOptions"]["HttpTokens"] == "required"
        assert host["PublicIpAddress"]
        [volume] = aws.ec2.describe_volumes(
            Filters=[{"Name": "attachment.instance-id", "Values": [host["InstanceId"]]}]
        )["Volumes"]
        assert (volume["Encrypted"], volume["VolumeType"]) == (True, "gp3")


def test_database_is_private_encrypted_backed_up_and_protected(aws, clients, public_key, run_cli):
    assert run_cli(*FLEET).code == 0
    db = the_database(clients.rds)
    assert db["Engine"] == "postgres"
    assert db["DBInstanceClass"] == "db.t4g.micro"
    assert db["StorageEncrypted"] is True
    assert db["BackupRetentionPeriod"] >= 7
    assert db["DeletionProtection"] is True
    assert db["PubliclyAccessible"] is False
    assert db["MultiAZ"] is False
    assert [g["VpcSecurityGroupId"] for g in db["VpcSecurityGroups"]] == [
        groups_by_role(aws.ec2)["db"]["GroupId"]
    ]
    subnet_group = db["DBSubnetGroup"]
    assert len({s["SubnetAvailabilityZone"]["Name"] for s in subnet_group["Subnets"]}) == 2
    db_subnets = {
        s["SubnetId"]
        for s in aws.ec2.describe_subnets(Filters=DEPLOYMENT)["Subnets"]
        if {"Key": "Role", "Value": "db"} in s["Tags"]
    }
    assert {s["SubnetIdentifier"] for s in subnet_group["Subnets"]} == db_subnets


def test_multi_az_flag_and_class_are_applied_and_kept(aws, clients, public_key, run_cli):
    result = run_cli(*FLEET, "--multi-az", "--db-instance-class", "db.t4g.small")
    assert result.code == 0, result.err
    assert (the_database(clients.rds)["MultiAZ"], the_database(clients.rds)["DBInstanceClass"]) == (
        True,
        "db.t4g.small",
    )
    assert run_cli("up").code == 0  # no flags: what exists is kept
    assert the_database(clients.rds)["MultiAZ"] is True
    assert the_database(clients.rds)["DBInstanceClass"] == "db.t4g.small"


def test_password_is_only_in_secrets_manager(aws, clients, public_key, run_cli):
    result = run_cli(*FLEET)
    assert result.code == 0, result.err
    [listed] = clients.secretsmanager.list_secrets()["SecretList"]
    assert listed["Name"] == "chatbot-appliance/chatbot/database"
    value = json.loads(
        clients.secretsmanager.get_secret_value(SecretId=listed["ARN"])["SecretString"]
    )
    assert value["username"] == "chatbot"
    password = value["password"]
    assert len(password) >= 40
    state = (run_cli.state_dir / "chatbot.json").read_text()
    inventory = run_cli.inventory.read_text()
    for text in (state, inventory, result.out, result.err, run_cli("status").out):
        assert password not in text
    assert listed["ARN"] in inventory
    assert json.loads(state)["secret_arn"] == listed["ARN"]


def test_inventory_lists_every_host_with_the_group_vars(
    aws, clients, public_key, run_cli, tmp_path
):
    assert run_cli(*FLEET).code == 0
    parsed = ansible_inventory(run_cli.inventory, tmp_path)
    hosts = app_hosts(aws.ec2)
    assert parsed["chatbot"]["children"] == ["chatbot_chatbot"]
    assert sorted(parsed["chatbot_chatbot"]["hosts"]) == names(hosts)
    hostvars = parsed["_meta"]["hostvars"]
    by_name = dict(zip(names(hosts), sorted(hosts, key=lambda h: names([h])[0]), strict=True))
    db = the_database(clients.rds)
    secret = clients.secretsmanager.list_secrets()["SecretList"][0]
    for name, host in by_name.items():
        got = hostvars[name]
        assert got["ansible_host"] == host["PublicIpAddress"]
        assert got["ansible_user"] == "admin"
        assert got["appliance_instance_id"] == host["InstanceId"]
        assert got["appliance_alb_dns_name"] == the_balancer(clients.elbv2)["DNSName"]
        assert got["appliance_database_host"] == db["Endpoint"]["Address"]
        assert str(got["appliance_database_port"]) == "5432"
        assert got["appliance_database_name"] == "chatbot"
        assert got["appliance_database_user"] == "chatbot"
        assert got["appliance_database_secret_id"] == secret["ARN"]
        assert got["appliance_aws_region"] == REGION
        assert (
            got["appliance_target_group_arn"] == the_target_group(clients.elbv2)["TargetGroupArn"]
        )


def test_single_host_lines_survive_next_to_a_fleet(aws, public_key, run_cli, tmp_path):
    assert run_cli("up", "--name", "solo").code == 0
    assert run_cli(*FLEET, "--name", "team").code == 0
    parsed = ansible_inventory(run_cli.inventory, tmp_path)
    assert parsed["chatbot"]["hosts"] == ["chatbot-appliance-solo"]
    assert parsed["chatbot"]["children"] == ["chatbot_team"]
    assert len(parsed["chatbot_team"]["hosts"]) == 3
    assert run_cli("down", "--name", "team", "--yes").code == 0
    parsed = ansible_inventory(run_cli.inventory, tmp_path)
    assert parsed["chatbot"]["hosts"] == ["chatbot-appliance-solo"]
    assert "chatbot_team" not in parsed
    assert len(live_instances(aws.ec2)) == 1


def test_rerun_converges_without_making_anything(aws, clients, public_key, run_cli):
    assert run_cli(*FLEET).code == 0
    before = {h["InstanceId"] for h in app_hosts(aws.ec2)}
    again = run_cli("up")
    assert again.code == 0, again.err
    assert {h["InstanceId"] for h in app_hosts(aws.ec2)} == before
    for word in ("created", "launched", "creating", "registered", "allowed", "requested"):
        assert f": {word}" not in again.out and f" {word} " not in again.out, word
    assert len(aws.ec2.describe_vpcs(Filters=DEPLOYMENT)["Vpcs"]) == 1
    assert len(clients.rds.describe_db_instances()["DBInstances"]) == 1
    assert len(clients.secretsmanager.list_secrets()["SecretList"]) == 1
    assert len(clients.elbv2.describe_load_balancers()["LoadBalancers"]) == 1


def test_scale_up_adds_a_host_and_down_drains_the_newest(aws, clients, public_key, run_cli):
    assert run_cli(*FLEET).code == 0
    grown = run_cli("up", "--hosts", "4")
    assert grown.code == 0, grown.err
    hosts = app_hosts(aws.ec2)
    assert names(hosts) == [f"chatbot-appliance-chatbot-{i}" for i in (1, 2, 3, 4)]
    assert targets(clients.elbv2) == {h["InstanceId"] for h in hosts}
    newest = {h["InstanceId"] for h in hosts if names([h])[0].endswith(("-3", "-4"))}

    shrunk = run_cli("up", "--hosts", "2")
    assert shrunk.code == 0, shrunk.err
    left = app_hosts(aws.ec2)
    assert names(left) == ["chatbot-appliance-chatbot-1", "chatbot-appliance-chatbot-2"]
    assert targets(clients.elbv2) == {h["InstanceId"] for h in left}
    for instance_id in newest:
        assert f"deregistered {instance_id}, draining" in shrunk.out
        assert f"instance {instance_id}" in shrunk.out
    # Drained before terminated, newest first.
    assert shrunk.out.index("chatbot-appliance-chatbot-4): terminating") < shrunk.out.index(
        "chatbot-appliance-chatbot-3): terminating"
    )
    assert len(run_cli.inventory.read_text().split("chatbot-appliance-chatbot-")) == 3


def test_down_removes_everything_and_keeps_the_final_snapshot(aws, clients, public_key, run_cli):
    assert run_cli(*FLEET).code == 0
    down = run_cli("down", "--yes")
    assert down.code == 0, down.err
    assert "the database's final snapshot is kept" in down.out
    assert "verified: nothing of the deployment is left" in down.out
    # Deletion protection was turned off first, then the instance deleted.
    assert down.out.index("deletion protection off") < down.out.index("deleting, final snapshot")
    assert_nothing_left(aws, clients)
    [snapshot] = clients.rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]
    assert snapshot["DBSnapshotIdentifier"].startswith("chatbot-appliance-chatbot-final-")
    assert f"kept: rds snapshot {snapshot['DBSnapshotIdentifier']}" in down.out
    # The secret stays restorable (it opens the snapshot), and a new `up` brings it back.
    [pending] = clients.secretsmanager.list_secrets(IncludePlannedDeletion=True)["SecretList"]
    assert pending.get("DeletedDate")
    again = run_cli(*FLEET)
    assert again.code == 0, again.err
    assert "restored" in again.out
    assert the_database(clients.rds)["DBInstanceStatus"] == "available"


def test_down_without_final_snapshot(aws, clients, public_key, run_cli):
    assert run_cli(*FLEET).code == 0
    down = run_cli("down", "--yes", "--skip-final-snapshot")
    assert down.code == 0, down.err
    assert "NO final snapshot" in down.out
    assert_nothing_left(aws, clients)
    assert clients.rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"] == []
    assert clients.secretsmanager.list_secrets(IncludePlannedDeletion=True)["SecretList"] == []


def test_down_asks_before_removing_a_fleet(aws, clients, public_key, run_cli, monkeypatch):
    assert run_cli(*FLEET).code == 0
    monkeypatch.setattr("builtins.input", lambda _prompt: "n")
    refused = run_cli("down")
    assert refused.code == 1
    assert "rds chatbot-appliance-chatbot available" in refused.out
    assert len(app_hosts(aws.ec2)) == 3
    assert the_database(clients.rds)["DeletionProtection"] is True


def assert_nothing_left(aws, clients) -> None:
    assert aws.ec2.describe_vpcs(Filters=DEPLOYMENT)["Vpcs"] == []
    assert aws.ec2.describe_subnets(Filters=DEPLOYMENT)["Subnets"] == []
    assert aws.ec2.describe_internet_gateways(Filters=DEPLOYMENT)["InternetGateways"] == []
    assert aws.ec2.describe_route_tables(Filters=DEPLOYMENT)["RouteTables"] == []
    assert aws.ec2.describe_security_groups(Filters=DEPLOYMENT)["SecurityGroups"] == []
    assert aws.ec2.describe_key_pairs()["KeyPairs"] == []
    assert live_instances(aws.ec2) == []
    assert clients.elbv2.describe_load_balancers()["LoadBalancers"] == []
    assert clients.elbv2.describe_target_groups()["TargetGroups"] == []
    assert clients.rds.describe_db_instances()["DBInstances"] == []
    assert clients.rds.describe_db_subnet_groups()["DBSubnetGroups"] == []
    assert clients.secretsmanager.list_secrets()["SecretList"] == []
    assert clients.acm.list_certificates()["CertificateSummaryList"] == []


def test_status_shows_every_piece(aws, clients, public_key, run_cli):
    assert run_cli(*FLEET).code == 0
    out = run_cli("status").out
    vpc = aws.ec2.describe_vpcs(Filters=DEPLOYMENT)["Vpcs"][0]["VpcId"]
    assert f"vpc {vpc} (10.80.0.0/16)" in out
    assert out.count("    subnet ") == 4
    assert out.count("    security group ") == 3
    assert "internet gateway" in out and "route table" in out
    assert f"load balancer chatbot-chatbot active {the_balancer(clients.elbv2)['DNSName']}" in out
    assert "target group chatbot-chatbot (health check /ready)" in out
    for host in app_hosts(aws.ec2):
        assert f"target {host['InstanceId']} healthy" in out
        assert f"{host['InstanceId']} running t3.small" in out
    address = the_database(clients.rds)["Endpoint"]["Address"]
    assert f"rds chatbot-appliance-chatbot available db.t4g.micro single-AZ {address}:5432" in out
    assert (
        "secret chatbot-appliance/chatbot/database (the database password; value not shown)" in out
    )
    assert f"url http://{the_balancer(clients.elbv2)['DNSName']}/" in out


def test_domain_requests_a_certificate_and_prints_the_cname(aws, clients, public_key, run_cli):
    result = run_cli(*FLEET, "--domain", "chat.example.com")
    assert result.code == 0, result.err
    [summary] = clients.acm.list_certificates()["CertificateSummaryList"]
    cert = clients.acm.describe_certificate(CertificateArn=summary["CertificateArn"])["Certificate"]
    assert (cert["DomainName"], cert["Status"]) == ("chat.example.com", "PENDING_VALIDATION")
    record = cert["DomainValidationOptions"][0]["ResourceRecord"]
    assert (
        f"create this DNS record to validate it: {record['Name']} CNAME {record['Value']}"
        in result.out
    )
    # Until it is issued, HTTP serves the site.
    [listener] = clients.elbv2.describe_listeners(
        LoadBalancerArn=the_balancer(clients.elbv2)["LoadBalancerArn"]
    )["Listeners"]
    assert listener["DefaultActions"][0]["Type"] == "forward"
    assert sources(groups_by_role(aws.ec2)["alb"]) == {(80, "0.0.0.0/0"), (443, "0.0.0.0/0")}


def test_issued_certificate_turns_on_https_and_the_redirect(
    aws, clients, public_key, run_cli, monkeypatch, tmp_path
):
    assert run_cli(*FLEET, "--domain", "chat.example.com").code == 0
    # moto issues a DNS-validated certificate once this many seconds have passed.
    monkeypatch.setattr(moto.settings, "ACM_VALIDATION_WAIT", -1)
    result = run_cli("up")  # the domain is remembered from the certificate
    assert result.code == 0, result.err
    listeners = {
        listener["Port"]: listener
        for listener in clients.elbv2.describe_listeners(
            LoadBalancerArn=the_balancer(clients.elbv2)["LoadBalancerArn"]
        )["Listeners"]
    }
    [summary] = clients.acm.list_certificates()["CertificateSummaryList"]
    assert listeners[443]["Protocol"] == "HTTPS"
    assert listeners[443]["Certificates"][0]["CertificateArn"] == summary["CertificateArn"]
    assert listeners[443]["DefaultActions"][0]["Type"] == "forward"
    redirect = listeners[80]["DefaultActions"][0]
    assert redirect["Type"] == "redirect"
    assert redirect["RedirectConfig"]["Protocol"] == "HTTPS"
    assert "ready: https://chat.example.com/" in result.out
    assert (443, "0.0.0.0/0") in sources(groups_by_role(aws.ec2)["alb"])
    parsed = ansible_inventory(run_cli.inventory, tmp_path)
    host = parsed["chatbot_chatbot"]["hosts"][0]
    assert parsed["_meta"]["hostvars"][host]["appliance_public_url"] == "https://chat.example.com/"
    down = run_cli("down", "--yes")
    assert down.code == 0, down.err
    assert clients.acm.list_certificates()["CertificateSummaryList"] == []


# --- failures half-way ----------------------------------------------------------------------


@pytest.mark.parametrize("code", ["VcpuLimitExceeded", "InstanceLimitExceeded"])
def test_quota_exceeded_half_way_is_one_line_and_resumable(
    aws, clients, public_key, run_cli, faults, code
):
    faults.add("ec2", "RunInstances", code, after=1)
    failed = run_cli(*FLEET)
    assert failed.code == 1
    [line] = failed.err.strip().splitlines()
    assert line.startswith(f"error: EC2 refused to start the instance ({code}")
    assert "run the same command again to continue where it stopped" in line
    assert len(app_hosts(aws.ec2)) == 1

    faults.clear()
    again = run_cli(*FLEET)
    assert again.code == 0, again.err
    hosts = app_hosts(aws.ec2)
    assert names(hosts) == [f"chatbot-appliance-chatbot-{i}" for i in (1, 2, 3)]
    assert targets(clients.elbv2) == {h["InstanceId"] for h in hosts}
    assert len(clients.rds.describe_db_instances()["DBInstances"]) == 1
    assert len(aws.ec2.describe_vpcs(Filters=DEPLOYMENT)["Vpcs"]) == 1


def test_rds_slow_to_become_available_is_one_line_and_resumable(
    aws, clients, public_key, run_cli, faults
):
    def still_creating(parsed):
        for instance in parsed["DBInstances"]:
            instance["DBInstanceStatus"] = "creating"

    faults.rewrite("rds", "DescribeDBInstances", still_creating)
    failed = run_cli(*FLEET, "--db-wait-seconds", "2")
    assert failed.code == 1
    assert failed.err.strip() == (
        "error: timed out waiting for the RDS instance to become available "
        "(last state: creating); it carries on in AWS: run the same command again to "
        "continue where it stopped"
    )
    hosts = {h["InstanceId"] for h in app_hosts(aws.ec2)}
    assert len(hosts) == 3
    assert not run_cli.inventory.exists()

    faults.clear()
    again = run_cli("up")
    assert again.code == 0, again.err
    assert "rds chatbot-appliance-chatbot: exists (available)" in again.out
    assert {h["InstanceId"] for h in app_hosts(aws.ec2)} == hosts
    assert len(clients.rds.describe_db_instances()["DBInstances"]) == 1
    assert "[chatbot_chatbot]" in run_cli.inventory.read_text()


def test_rds_quota_is_one_line(aws, public_key, run_cli, faults):
    faults.add("rds", "CreateDBInstance", "InstanceQuotaExceeded")
    failed = run_cli(*FLEET)
    assert failed.code == 1
    assert failed.err.strip() == (
        "error: rds:CreateDBInstance failed: InstanceQuotaExceeded: the account's quota of "
        "RDS DB instances is reached; raise it in Service Quotas or free one, then run the "
        "same command again to continue where it stopped"
    )
    faults.clear()
    assert run_cli(*FLEET).code == 0


# --- layouts ----------------------------------------------------------------------------------


def test_single_host_stays_the_default(aws, clients, public_key, run_cli):
    assert run_cli("up").code == 0
    assert aws.ec2.describe_vpcs(Filters=DEPLOYMENT)["Vpcs"] == []
    assert clients.rds.describe_db_instances()["DBInstances"] == []
    assert clients.elbv2.describe_load_balancers()["LoadBalancers"] == []
    refused = run_cli(*FLEET)
    assert refused.code == 1
    assert "is a single host on SQLite" in refused.err
    assert "From one host to many" in refused.err


def test_several_hosts_need_rds(aws, public_key, run_cli):
    result = run_cli("up", "--hosts", "3", "--database", "sqlite")
    assert result.code == 1
    assert "several hosts cannot share one SQLite file" in result.err


def test_a_fleet_refuses_sqlite(aws, public_key, run_cli):
    assert run_cli(*FLEET).code == 0
    result = run_cli("up", "--database", "sqlite")
    assert result.code == 1
    assert "runs on RDS behind a load balancer" in result.err


def test_dry_run_of_a_fleet_changes_nothing(aws, clients, public_key, run_cli):
    result = run_cli(*FLEET, "--dry-run")
    assert result.code == 0, result.err
    assert "would create a VPC" in result.out
    assert "app hosts: 0 now, 3 wanted" in result.out
    assert_nothing_left(aws, clients)


def test_ssh_picks_a_host_of_the_fleet(aws, public_key, run_cli, monkeypatch):
    import os

    assert run_cli(*FLEET).code == 0
    calls = []
    monkeypatch.setattr(os, "execvp", lambda file, argv: calls.append(argv))
    assert run_cli("ssh", "--host", "2").code == 0
    addresses = {h["PublicIpAddress"] for h in app_hosts(aws.ec2)}
    assert calls[0][-1].split("@")[1] in addresses
    assert run_cli("ssh", "--host", "9").code == 1
