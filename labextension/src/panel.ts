/**
 * The Board panel (left sidebar): connection state, port picker, resets, and the files.
 */
import { Notification } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { Contents } from '@jupyterlab/services';
import { nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import { LabIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { Availability, BoardConnection } from './connection';
import { FilesView, button } from './files';
import { humanBytes } from './format';
import { BROWSER_KIND, PageBoard, PickCancelled } from './pageboard';
import { IPort } from './tokens';

function reasons(trans: TranslationBundle): Record<Availability, string> {
  return {
    'no-kernel': trans.__('Open a notebook or console with the MicroPython kernel to see its board.'),
    'not-micropython': trans.__('The notebook in focus does not run the MicroPython kernel.'),
    starting: trans.__('Waiting for the kernel…'),
    busy: trans.__('A cell is running: the board is busy.'),
    ready: ''
  };
}

export class BoardPanel extends Widget {
  readonly files: FilesView;
  private _reason = document.createElement('div');
  private _state = document.createElement('dl');
  private _ports = document.createElement('select');
  private _connect: HTMLButtonElement;
  private _disconnect: HTMLButtonElement;
  private _here: PageBoard;
  private _hereButton: HTMLButtonElement;
  private _hereNote = document.createElement('div');
  private _controls = document.createElement('div');
  private _refreshTimer = 0;
  private _reasons: Record<Availability, string>;
  /** Milliseconds of quiet after a cell before the panel asks the board again (a setting). */
  refreshDelay = 400;

  constructor(
    private _board: BoardConnection,
    docs: IDocumentManager,
    contents: Contents.IManager,
    icon: LabIcon,
    openConsole: () => void,
    private _trans: TranslationBundle = nullTranslator.load('mpkernel')
  ) {
    super();
    const trans = _trans;
    this._reasons = reasons(trans);
    this.id = 'mpkernel-board-panel';
    this.addClass('mpk-Panel');
    this.title.icon = icon;
    this.title.caption = trans.__('MicroPython board');
    const header = document.createElement('header');
    header.className = 'mpk-Panel-header';
    const logo = document.createElement('span');
    icon.element({ container: logo, height: '20px', width: '20px' });
    header.append(logo, document.createTextNode(` ${trans.__('MicroPython board')}`));
    this._reason.className = 'mpk-Panel-reason';
    this._state.className = 'mpk-Panel-state';
    this._ports.className = 'jp-mod-styled mpk-Ports';
    this._ports.title = trans.__('The ports the kernel sees (USB ids), and the virtual board');
    this._connect = button(trans.__('Connect'), trans.__('Connect the kernel to this port'), () =>
      void this._doConnect()
    );
    this._disconnect = button(trans.__('Disconnect'), trans.__('Release the port'), () =>
      void this._doDisconnect()
    );
    this._here = new PageBoard(_board, trans);
    this._here.ended.connect((_, line) => this._notify(new Error(line)));
    this._here.rateChanged.connect(() => this._showState());
    this._hereButton = button(
      trans.__('Connect a board on this computer'),
      trans.__(
        "Pick a USB port of this computer (the browser's Web Serial): the kernel uses the board through this page"
      ),
      () => void this._connectHere()
    );
    this._hereNote.className = 'mpk-Panel-note';
    const row0 = document.createElement('div');
    row0.className = 'mpk-Row';
    row0.append(this._hereButton, this._hereNote);
    const row1 = document.createElement('div');
    row1.className = 'mpk-Row';
    row1.append(
      this._ports,
      button('⟳', trans.__('List the ports again'), () => void this.refreshPorts()),
      this._connect,
      this._disconnect
    );
    const row2 = document.createElement('div');
    row2.className = 'mpk-Row';
    row2.append(
      button(trans.__('Soft reset'), trans.__('Soft reset: variables are gone, boot.py runs'), () =>
        void this._reset(false)
      ),
      button(trans.__('Hard reset'), trans.__('Reset the chip, as the reset button does'), () =>
        void this._reset(true)
      ),
      button(trans.__('Console'), trans.__('What the board prints between cells'), openConsole)
    );
    this.files = new FilesView(_board, docs, contents, trans);
    this._controls.className = 'mpk-Panel-controls';
    this._controls.append(this._state, row0, row1, row2, this.files.node);
    this.node.append(header, this._reason, this._controls);
    _board.stateChanged.connect(() => this._showState());
    _board.availabilityChanged.connect(() => this._onAvailability());
    _board.reset.connect(() => void this.refresh());
    this._showState();
    this._onAvailability();
  }

  /** Ask the kernel for the full status, the ports and the files. */
  async refresh(): Promise<void> {
    if (this._board.availability !== 'ready') {
      return;
    }
    await this.refreshPorts();
    try {
      this._board.setStatus(await this._board.request('status'));
    } catch (err) {
      this._notify(err);
    }
    if (this._board.state.connected) {
      await this.files.refresh();
    } else {
      this.files.clear(this._trans.__('Not connected.'));
    }
  }

  async refreshPorts(): Promise<void> {
    let ports: IPort[] = [];
    try {
      ports = (await this._board.request('ports')).ports;
    } catch {
      ports = [];
    }
    const current = this._ports.value;
    const options = [
      ...ports.map(p => {
        const label = `${p.device} (${p.usb_id}${p.known_as ? `, ${p.known_as}` : ''})`;
        return new Option(label, p.device);
      }),
      new Option(this._trans.__('virtual (MicroPython on this computer)'), 'virtual')
    ];
    this._ports.replaceChildren(...options);
    if (options.some(o => o.value === current)) {
      this._ports.value = current;
    }
  }

  private _onAvailability(): void {
    const availability = this._board.availability;
    const ready = availability === 'ready' && !this._board.transferring;
    this.node.classList.toggle('mpk-mod-disabled', !ready);
    this._reason.textContent = this._board.transferring
      ? this._trans.__('A transfer is running…')
      : this._reasons[availability];
    for (const control of this._controls.querySelectorAll('button, select')) {
      (control as HTMLButtonElement).disabled = !ready;
    }
    // After a cell (or a transfer), refresh once things have been quiet for a moment, and
    // only while the panel is in view: a closed panel adds nothing to a cell's round trip.
    window.clearTimeout(this._refreshTimer);
    if (ready && this.isVisible) {
      this._refreshTimer = window.setTimeout(() => void this.refresh(), this.refreshDelay);
    }
    if (availability === 'no-kernel' || availability === 'not-micropython') {
      this.files.clear('');
    }
  }

  protected onAfterShow(): void {
    void this.refresh();
  }

  private _showState(): void {
    const s = this._board.state;
    const rows: [string, string][] = [];
    if (!s.connected) {
      rows.push([this._trans.__('State'), this._trans.__('not connected')]);
    } else {
      const here = s.kind === BROWSER_KIND ? this._here.link : null;
      if (s.kind === BROWSER_KIND) {
        const port = here
          ? this._trans.__('this computer, %1', here.description)
          : this._trans.__('a board in another tab (that tab holds the port)');
        rows.push(
          [this._trans.__('Port'), port],
          [this._trans.__('Link'), this._trans.__('browser serial link (Web Serial, through this page)')]
        );
      } else {
        rows.push([
          this._trans.__('Port'),
          s.virtual ? this._trans.__('virtual board (not a real board)') : String(s.port)
        ]);
        rows.push([this._trans.__('Link'), String(s.kind)]);
      }
      if (s.firmware) {
        rows.push([this._trans.__('Firmware'), s.firmware]);
      }
      if (s.machine) {
        rows.push([this._trans.__('Machine'), s.machine]);
      }
      if (s.free_heap !== undefined) {
        rows.push([this._trans.__('Free heap'), humanBytes(s.free_heap)]);
      }
      if (s.free_flash !== undefined) {
        // the virtual board's is the host's
        const label = s.virtual ? this._trans.__('Free disk') : this._trans.__('Free flash');
        rows.push([
          label,
          this._trans.__('%1 of %2', humanBytes(s.free_flash), humanBytes(s.total_flash ?? 0))
        ]);
      }
      if (s.provenance) {
        rows.push([this._trans.__('Recorded'), String(s.provenance.recorded ?? '')]);
      }
    }
    this._state.replaceChildren(
      ...rows.flatMap(([k, v]) => {
        const dt = document.createElement('dt');
        dt.textContent = k;
        const dd = document.createElement('dd');
        dd.textContent = v;
        return [dt, dd];
      })
    );
    this._state.title = s.provenance ? JSON.stringify(s.provenance, null, 1) : '';
    this._connect.hidden = s.connected;
    this._disconnect.hidden = !s.connected;
    const serial = this._here.available;
    this._hereButton.hidden = s.connected || !serial;
    this._hereNote.textContent = serial || s.connected ? '' : this._here.unavailableReason;
    if (!s.connected) {
      this.files.clear(this._trans.__('Not connected.'));
    }
  }

  private _notify(err: unknown): void {
    Notification.error((err as Error).message, { autoClose: 8000 });
  }

  private async _doConnect(): Promise<void> {
    const target = this._ports.value || 'virtual';
    try {
      this._board.setStatus(await this._board.request('connect', { target }));
      await this.files.refresh();
    } catch (err) {
      this._notify(err);
    }
  }

  private async _connectHere(): Promise<void> {
    try {
      this._board.setStatus(await this._here.connect());
      await this.files.refresh();
    } catch (err) {
      if (!(err instanceof PickCancelled)) {
        this._notify(err);
      }
    }
  }

  private async _doDisconnect(): Promise<void> {
    await this._simple('disconnect');
    await this._here.release();
  }

  private async _simple(op: 'disconnect'): Promise<void> {
    try {
      await this._board.request(op);
    } catch (err) {
      this._notify(err);
    }
  }

  private async _reset(hard: boolean): Promise<void> {
    try {
      await this._board.request('reset', { hard });
      Notification.info(
        hard ? this._trans.__('Hard reset done.') : this._trans.__('Soft reset done.'),
        { autoClose: 2500 }
      );
    } catch (err) {
      this._notify(err);
    }
  }
}
