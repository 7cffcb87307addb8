"""``keyless doctor``: why Pulumi Cloud would refuse (or admit) a workload's token exchange.

The reference is a stack's own declaration (its issuer and the policies its components register,
on the mock engine); the token comes from a file, from the cluster, or as the claims the login
Job printed. Each finding has a stable code (:class:`~keyless.doctor.findings.Code`).
"""
