"""Services: one module per job, called the same way by magics, widgets and the extension.

Each takes plain arguments (and the kernel's `Connection`), returns plain data, and raises
`errors.UsageError` or an `errors.OperationError`; none prints or imports a surface.
"""
