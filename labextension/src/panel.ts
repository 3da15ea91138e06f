/**
 * The Board panel (left sidebar): connection state, port picker, resets, and the files.
 */
import { Notification } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { Contents } from '@jupyterlab/services';
import { LabIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { Availability, BoardConnection, IBoardState } from './connection';
import { FilesView, button } from './files';
import { humanBytes } from './format';

const REASONS: Record<Availability, string> = {
  'no-kernel': 'Open a notebook or console with the MicroPython kernel to see its board.',
  'not-micropython': 'The notebook in focus does not run the MicroPython kernel.',
  starting: 'Waiting for the kernel…',
  busy: 'A cell is running: the board is busy.',
  ready: ''
};

/** Milliseconds of quiet after a cell before the panel asks the board again. */
const REFRESH_DELAY = 400;

export class BoardPanel extends Widget {
  readonly files: FilesView;
  private _reason = document.createElement('div');
  private _state = document.createElement('dl');
  private _ports = document.createElement('select');
  private _connect: HTMLButtonElement;
  private _disconnect: HTMLButtonElement;
  private _controls = document.createElement('div');
  private _refreshTimer = 0;

  constructor(
    private _board: BoardConnection,
    docs: IDocumentManager,
    contents: Contents.IManager,
    icon: LabIcon,
    openConsole: () => void
  ) {
    super();
    this.id = 'mpkernel-board-panel';
    this.addClass('mpk-Panel');
    this.title.icon = icon;
    this.title.caption = 'MicroPython board';
    const header = document.createElement('header');
    header.className = 'mpk-Panel-header';
    const logo = document.createElement('span');
    icon.element({ container: logo, height: '20px', width: '20px' });
    header.append(logo, document.createTextNode(' MicroPython board'));
    this._reason.className = 'mpk-Panel-reason';
    this._state.className = 'mpk-Panel-state';
    this._ports.className = 'jp-mod-styled mpk-Ports';
    this._ports.title = 'The ports the kernel sees (USB ids), and the virtual board';
    this._connect = button('Connect', 'Connect the kernel to this port', () => void this._doConnect());
    this._disconnect = button('Disconnect', 'Release the port', () => void this._simple('disconnect'));
    const row1 = document.createElement('div');
    row1.className = 'mpk-Row';
    row1.append(
      this._ports,
      button('⟳', 'List the ports again', () => void this.refreshPorts()),
      this._connect,
      this._disconnect
    );
    const row2 = document.createElement('div');
    row2.className = 'mpk-Row';
    row2.append(
      button('Soft reset', 'Soft reset: variables are gone, boot.py runs', () =>
        void this._reset(false)
      ),
      button('Hard reset', 'Reset the chip, as the reset button does', () => void this._reset(true)),
      button('Console', 'What the board prints between cells', openConsole)
    );
    this.files = new FilesView(_board, docs, contents);
    this._controls.className = 'mpk-Panel-controls';
    this._controls.append(this._state, row1, row2, this.files.node);
    this.node.append(header, this._reason, this._controls);
    _board.stateChanged.connect(() => this._showState());
    _board.availabilityChanged.connect(() => this._onAvailability());
    _board.reset.connect(() => void this.refresh());
    this._onAvailability();
  }

  /** Ask the kernel for the full status, the ports and the files. */
  async refresh(): Promise<void> {
    if (this._board.availability !== 'ready') {
      return;
    }
    await this.refreshPorts();
    try {
      this._board.setStatus((await this._board.request('status')) as unknown as IBoardState);
    } catch (err) {
      this._notify(err);
    }
    if (this._board.state.connected) {
      await this.files.refresh();
    } else {
      this.files.clear('Not connected.');
    }
  }

  async refreshPorts(): Promise<void> {
    let ports: { device: string; usb_id: string; description: string; known_as: string }[] = [];
    try {
      ports = (await this._board.request('ports')).ports as unknown as typeof ports;
    } catch {
      ports = [];
    }
    const current = this._ports.value;
    const options = [
      ...ports.map(p => {
        const label = `${p.device} (${p.usb_id}${p.known_as ? `, ${p.known_as}` : ''})`;
        return new Option(label, p.device);
      }),
      new Option('virtual (MicroPython on this computer)', 'virtual')
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
      ? 'A transfer is running…'
      : REASONS[availability];
    for (const control of this._controls.querySelectorAll('button, select')) {
      (control as HTMLButtonElement).disabled = !ready;
    }
    // After a cell (or a transfer), refresh once things have been quiet for a moment, and
    // only while the panel is in view: a closed panel adds nothing to a cell's round trip.
    window.clearTimeout(this._refreshTimer);
    if (ready && this.isVisible) {
      this._refreshTimer = window.setTimeout(() => void this.refresh(), REFRESH_DELAY);
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
      rows.push(['State', 'not connected']);
    } else {
      rows.push(['Port', s.virtual ? 'virtual board (not a real board)' : String(s.port)]);
      rows.push(['Link', String(s.kind)]);
      if (s.firmware) {
        rows.push(['Firmware', s.firmware]);
      }
      if (s.machine) {
        rows.push(['Machine', s.machine]);
      }
      if (s.free_heap !== undefined) {
        rows.push(['Free heap', humanBytes(s.free_heap)]);
      }
      if (s.free_flash !== undefined) {
        const label = s.virtual ? 'Free disk' : 'Free flash'; // the virtual board's is the host's
        rows.push([label, `${humanBytes(s.free_flash)} of ${humanBytes(s.total_flash ?? 0)}`]);
      }
      if (s.provenance) {
        rows.push(['Recorded', String((s.provenance as Record<string, unknown>).recorded ?? '')]);
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
    if (!s.connected) {
      this.files.clear('Not connected.');
    }
  }

  private _notify(err: unknown): void {
    Notification.error((err as Error).message, { autoClose: 8000 });
  }

  private async _doConnect(): Promise<void> {
    const target = this._ports.value || 'virtual';
    try {
      this._board.setStatus(
        (await this._board.request('connect', { target })) as unknown as IBoardState
      );
      await this.files.refresh();
    } catch (err) {
      this._notify(err);
    }
  }

  private async _simple(op: string): Promise<void> {
    try {
      await this._board.request(op);
    } catch (err) {
      this._notify(err);
    }
  }

  private async _reset(hard: boolean): Promise<void> {
    try {
      await this._board.request('reset', { hard });
      Notification.info(hard ? 'Hard reset done.' : 'Soft reset done.', { autoClose: 2500 });
    } catch (err) {
      this._notify(err);
    }
  }
}
