"""Provisioning CLI: ``python -m scripts.aws up|status|ssh|down``.

boto3 creates the AWS resources of one appliance host (key pair, security group, EC2 instance,
Elastic IP), writes ``inventory.ini`` and runs the Ansible playbook. Everything it creates is
tagged ``Project=chatbot-appliance`` and ``Deployment=<name>``, which is how later runs find it.
"""
