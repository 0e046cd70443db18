"""RDS for PostgreSQL and its master password in AWS Secrets Manager.

The password is made here (``secrets``), stored only in the secret, and handed to RDS once;
it is never printed, logged, or written to the state file or the inventory. The playbook reads
the secret itself (docs/deploy.md).
"""

from __future__ import annotations

import datetime
import json
import secrets
from typing import Any

from botocore.exceptions import ClientError

from scripts.aws.clients import Aws
from scripts.aws.config import DEFAULT_DB_CLASS, Deployment
from scripts.aws.errors import DeployError, error_code
from scripts.aws.report import detail, step

DB_NAME = "chatbot"
DB_USER = "chatbot"
DB_PORT = 5432
STORAGE_GB = 20
MAX_STORAGE_GB = 100  # storage autoscaling ceiling
BACKUP_RETENTION_DAYS = 7
# Days a deleted secret can be restored: as long as the final snapshot it opens may be needed
# soon after `down`. Without a final snapshot the secret is deleted at once.
SECRET_RECOVERY_DAYS = 7


def new_password() -> str:
    # URL-safe characters only: none of the ones RDS refuses ('/', '@', '"', ' ') and nothing
    # that needs escaping in a database URL.
    return secrets.token_urlsafe(32)


# --- secret ---------------------------------------------------------------------------------


def find_secret(aws: Aws, dep: Deployment) -> dict[str, Any] | None:
    """The deployment's secret (its metadata, never its value), also while scheduled for
    deletion (then with a DeletedDate)."""
    try:
        found: dict[str, Any] = aws.secretsmanager.describe_secret(SecretId=dep.secret_name)
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return None
        raise
    if not dep.owns(found.get("Tags", [])):
        raise DeployError(
            f"secret {dep.secret_name} exists but is not tagged as deployment {dep.name}'s; "
            "rename the deployment (--name) or remove that secret"
        )
    return found


def _store_password(aws: Aws, dep: Deployment, secret: dict[str, Any] | None, password: str) -> str:
    value = json.dumps({"username": DB_USER, "password": password})
    if secret is None:
        arn: str = aws.secretsmanager.create_secret(
            Name=dep.secret_name,
            Description=f"master password of the RDS instance {dep.resource_name}",
            SecretString=value,
            Tags=dep.tag_list(),
        )["ARN"]
        step(f"secret {dep.secret_name}: created")
        return arn
    aws.secretsmanager.put_secret_value(SecretId=secret["ARN"], SecretString=value)
    step(f"secret {dep.secret_name}: new password stored")
    arn = secret["ARN"]
    return arn


# --- subnet group and instance --------------------------------------------------------------


def find_subnet_group(aws: Aws, dep: Deployment) -> dict[str, Any] | None:
    try:
        groups = aws.rds.describe_db_subnet_groups(DBSubnetGroupName=dep.resource_name)
    except ClientError as exc:
        if error_code(exc) == "DBSubnetGroupNotFoundFault":
            return None
        raise
    group: dict[str, Any] = groups["DBSubnetGroups"][0]
    return group


def find_instance(aws: Aws, dep: Deployment) -> dict[str, Any] | None:
    try:
        found = aws.rds.describe_db_instances(DBInstanceIdentifier=dep.resource_name)
    except ClientError as exc:
        if error_code(exc) == "DBInstanceNotFound":
            return None
        raise
    instance: dict[str, Any] = found["DBInstances"][0]
    if not dep.owns(instance.get("TagList", [])):
        raise DeployError(
            f"RDS instance {dep.resource_name} exists but is not tagged as deployment "
            f"{dep.name}'s; rename the deployment (--name)"
        )
    return instance


def ensure_database(
    aws: Aws, dep: Deployment, subnets: list[str], group_id: str
) -> tuple[dict[str, Any], str]:
    """Start creating the instance if it is missing (without waiting); it and the secret's ARN."""
    if find_subnet_group(aws, dep) is None:
        aws.rds.create_db_subnet_group(
            DBSubnetGroupName=dep.resource_name,
            DBSubnetGroupDescription=f"{dep.resource_name}: database subnets in two zones",
            SubnetIds=subnets,
            Tags=dep.tag_list(),
        )
        step(f"db subnet group {dep.resource_name}: created")
    secret = find_secret(aws, dep)
    if secret is not None and secret.get("DeletedDate"):
        # Left by an earlier `down` that kept a final snapshot.
        aws.secretsmanager.restore_secret(SecretId=secret["ARN"])
        step(f"secret {dep.secret_name}: restored (it was scheduled for deletion)")
    instance = find_instance(aws, dep)
    if instance is not None and instance["DBInstanceStatus"] == "deleting":
        raise DeployError(
            f"RDS instance {dep.resource_name} is being deleted; wait for `down` to finish"
        )
    if instance is None or secret is None:
        password = new_password()
        arn = _store_password(aws, dep, secret, password)
        if instance is None:
            instance = _create_instance(aws, dep, group_id, password)
        else:
            # The secret was deleted by hand: the database takes the new secret's password.
            aws.rds.modify_db_instance(
                DBInstanceIdentifier=dep.resource_name,
                MasterUserPassword=password,
                ApplyImmediately=True,
            )
            step(f"rds {dep.resource_name}: master password reset to the new secret's")
    else:
        arn = secret["ARN"]
        step(f"rds {dep.resource_name}: exists ({instance['DBInstanceStatus']})")
        _converge(aws, dep, instance)
    return instance, arn


def _create_instance(aws: Aws, dep: Deployment, group_id: str, password: str) -> dict[str, Any]:
    instance_class = dep.db_instance_class or DEFAULT_DB_CLASS
    instance: dict[str, Any] = aws.rds.create_db_instance(
        DBInstanceIdentifier=dep.resource_name,
        DBInstanceClass=instance_class,
        Engine="postgres",
        DBName=DB_NAME,
        MasterUsername=DB_USER,
        MasterUserPassword=password,
        Port=DB_PORT,
        AllocatedStorage=STORAGE_GB,
        MaxAllocatedStorage=MAX_STORAGE_GB,
        StorageType="gp3",
        StorageEncrypted=True,
        BackupRetentionPeriod=BACKUP_RETENTION_DAYS,
        DeletionProtection=True,
        PubliclyAccessible=False,
        MultiAZ=bool(dep.multi_az),
        AutoMinorVersionUpgrade=True,
        DBSubnetGroupName=dep.resource_name,
        VpcSecurityGroupIds=[group_id],
        CopyTagsToSnapshot=True,
        Tags=dep.tag_list(),
    )["DBInstance"]
    zones = "Multi-AZ" if dep.multi_az else "single-AZ"
    step(f"rds {dep.resource_name}: creating ({instance_class}, {zones}, encrypted)")
    return instance


def _converge(aws: Aws, dep: Deployment, instance: dict[str, Any]) -> None:
    """Apply the flags that differ from what the instance has; None options keep its value."""
    changes: dict[str, Any] = {}
    if dep.db_instance_class and instance["DBInstanceClass"] != dep.db_instance_class:
        changes["DBInstanceClass"] = dep.db_instance_class
    if dep.multi_az is not None and instance["MultiAZ"] != dep.multi_az:
        changes["MultiAZ"] = dep.multi_az
    if not instance.get("DeletionProtection"):
        changes["DeletionProtection"] = True
    if instance.get("BackupRetentionPeriod", 0) < BACKUP_RETENTION_DAYS:
        changes["BackupRetentionPeriod"] = BACKUP_RETENTION_DAYS
    if not changes:
        return
    if instance["DBInstanceStatus"] != "available":
        detail(
            f"rds {dep.resource_name}: {instance['DBInstanceStatus']}; "
            "changes are made by a run that finds it available"
        )
        return
    aws.rds.modify_db_instance(
        DBInstanceIdentifier=dep.resource_name, ApplyImmediately=True, **changes
    )
    step(f"rds {dep.resource_name}: modifying {', '.join(f'{k}={v}' for k, v in changes.items())}")


def wait_available(aws: Aws, dep: Deployment) -> dict[str, Any]:
    """Wait (up to --db-wait-seconds) until the instance is available; WaiterError otherwise,
    which the CLI reports in one line: the next `up` waits again."""
    timeout = dep.db_wait_seconds
    delay = max(1, min(30, timeout // 10))
    step(f"rds {dep.resource_name}: waiting until available (up to {timeout // 60} min)")
    aws.rds.get_waiter("db_instance_available").wait(
        DBInstanceIdentifier=dep.resource_name,
        WaiterConfig={"Delay": delay, "MaxAttempts": max(1, timeout // delay)},
    )
    instance = find_instance(aws, dep)
    if instance is None:
        raise DeployError(f"RDS instance {dep.resource_name} disappeared while `up` waited for it")
    return instance


# --- teardown -------------------------------------------------------------------------------


def final_snapshot_id(dep: Deployment, now: datetime.datetime | None = None) -> str:
    stamp = (now or datetime.datetime.now(datetime.UTC)).strftime("%Y%m%d-%H%M%S")
    return f"{dep.resource_name}-final-{stamp}"


def delete_database(aws: Aws, dep: Deployment) -> None:
    """Turn deletion protection off, delete (with a final snapshot unless told not to), wait,
    then the subnet group and the secret."""
    instance = find_instance(aws, dep)
    if instance is not None and instance["DBInstanceStatus"] != "deleting":
        if instance.get("DeletionProtection"):
            aws.rds.modify_db_instance(
                DBInstanceIdentifier=dep.resource_name,
                DeletionProtection=False,
                ApplyImmediately=True,
            )
            step(f"rds {dep.resource_name}: deletion protection off")
        if dep.final_snapshot:
            snapshot = final_snapshot_id(dep)
            aws.rds.delete_db_instance(
                DBInstanceIdentifier=dep.resource_name,
                FinalDBSnapshotIdentifier=snapshot,
                # The final snapshot is the backup kept; retained automated backups would
                # bill storage for up to their retention period on top of it.
                DeleteAutomatedBackups=True,
            )
            step(f"rds {dep.resource_name}: deleting, final snapshot {snapshot} is kept")
        else:
            aws.rds.delete_db_instance(
                DBInstanceIdentifier=dep.resource_name,
                SkipFinalSnapshot=True,
                DeleteAutomatedBackups=True,
            )
            step(f"rds {dep.resource_name}: deleting without a final snapshot")
    if instance is not None:
        aws.rds.get_waiter("db_instance_deleted").wait(
            DBInstanceIdentifier=dep.resource_name, WaiterConfig={"Delay": 30, "MaxAttempts": 80}
        )
        step(f"rds {dep.resource_name}: deleted")
    if find_subnet_group(aws, dep) is not None:
        aws.rds.delete_db_subnet_group(DBSubnetGroupName=dep.resource_name)
        step(f"db subnet group {dep.resource_name}: deleted")
    secret = find_secret(aws, dep)
    if secret is not None and not (dep.final_snapshot and secret.get("DeletedDate")):
        if dep.final_snapshot:
            aws.secretsmanager.delete_secret(
                SecretId=secret["ARN"], RecoveryWindowInDays=SECRET_RECOVERY_DAYS
            )
            step(
                f"secret {dep.secret_name}: scheduled for deletion in {SECRET_RECOVERY_DAYS} "
                "days (restore it to open the final snapshot)"
            )
        else:
            aws.secretsmanager.delete_secret(
                SecretId=secret["ARN"], ForceDeleteWithoutRecovery=True
            )
            step(f"secret {dep.secret_name}: deleted")


def final_snapshots(aws: Aws, dep: Deployment) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = aws.rds.describe_db_snapshots(
        DBInstanceIdentifier=dep.resource_name, SnapshotType="manual"
    )["DBSnapshots"]
    return found


def describe(aws: Aws, dep: Deployment) -> list[str]:
    lines = []
    if find_subnet_group(aws, dep) is not None:
        lines.append(f"db subnet group {dep.resource_name}")
    instance = find_instance(aws, dep)
    if instance is not None:
        endpoint = instance.get("Endpoint") or {}
        where = f"{endpoint['Address']}:{endpoint['Port']}" if endpoint else "no endpoint yet"
        lines.append(
            f"rds {dep.resource_name} {instance['DBInstanceStatus']} "
            f"{instance['DBInstanceClass']} {'Multi-AZ' if instance['MultiAZ'] else 'single-AZ'} "
            f"{where}"
        )
    secret = find_secret(aws, dep)
    if secret is not None and not secret.get("DeletedDate"):
        lines.append(f"secret {dep.secret_name} (the database password; value not shown)")
    return lines
