"""Validation shared by contracts and the policy: the problem collector (``fields``), the
strict YAML loader (``yamlsafe``) and safe file reading (``files``)."""
