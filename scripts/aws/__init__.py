"""Provisioning CLI: ``python -m scripts.aws up|status|ssh|down``.

boto3 creates the AWS resources of one appliance host (key pair, security group, EC2 instance,
Elastic IP), or with ``--database rds`` the load-balanced layout (a VPC over two zones, an ALB,
N hosts, RDS for PostgreSQL with its password in Secrets Manager: fleet.py), writes
``inventory.ini`` and runs the Ansible playbook. Everything it creates is tagged
``Project=chatbot-appliance`` and ``Deployment=<name>``, which is how later runs find it.
"""
