"""Jupyter messaging conformance, checked by jupyter_kernel_test against the running kernel."""

from __future__ import annotations

import os
import tempfile

import jupyter_kernel_test


class MicroPythonKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "micropython"
    language_name = "python"
    file_extension = ".py"

    code_hello_world = "print('hello, world')"
    code_stderr = None  # a board sends stdout and stderr on its one serial stream
    completion_samples = [{"text": "pri", "matches": {"print"}}]
    complete_code_samples = ["1", "print('hello, world')", "def f(x):\n  return x*2\n\n"]
    incomplete_code_samples = ["print('hello", "def f(x):\n  x*2"]
    invalid_code_samples = ["import = 7q"]
    code_page_something = None
    code_execute_result = [{"code": "6*7", "result": "42"}, {"code": "'a' + 'b'", "result": "'ab'"}]
    code_generate_error = "raise ValueError('from the board')"
    code_display_data = [  # a board cell displays no rich data; its host cells do
        {"code": "%%host\nfrom IPython.display import HTML, display\ndisplay(HTML('<b>x</b>'))",
         "mime": "text/html"},
    ]  # fmt: skip
    code_history_pattern = "6*7"
    supported_history_operations = ("tail", "search")
    code_inspect_sample = "print"
    code_clear_output = None

    @classmethod
    def setUpClass(cls) -> None:
        # History searches must see only this class's cells.
        os.environ["IPYTHONDIR"] = tempfile.mkdtemp(prefix="ipython-")
        super().setUpClass()
        cls.kc.execute_interactive("%connect virtual", timeout=30)
