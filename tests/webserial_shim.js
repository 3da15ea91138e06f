// Test-only: a navigator.serial with the Web Serial API's shape, for browser tests that cannot
// click Chromium's port picker. Installed before the page loads (Playwright's
// context.add_init_script) as `(this function)(PORTS)`, where PORTS lists
// {url, usbVendorId, usbProductId}: each port's bytes are a real board's PTY behind
// tests/serial_bridge.py. The page's code sees only the standard API.
//
// What the test (not the page) uses: window.__serialShim.choose(i) picks port i in the next
// picker (null: the user cancels it); unplug(i) pulls port i's cable (the board, powered by
// USB, starts again when plugged back; unplug(i, {selfPowered: true}): a board with its own
// supply keeps running, in whatever state it was); plug(i); isOpen(i); baud(i), the rate the
// port was last opened at; writes(i), the sizes of the writes the page made since the last
// call. A spec's `maxBaud` is the fastest rate its USB adapter takes: open() at a faster one
// fails as Chromium's does when the OS refuses the rate.
(PORTS) => {
  'use strict';
  const OS_BUFFER = 4096; // bytes on their way to the board before a write waits

  const lost = () => new DOMException('The device has been lost.', 'NetworkError');

  class SerialPort extends EventTarget {
    constructor(spec) {
      super();
      this._spec = spec;
      this._ws = null;
      this._present = true;
      this._readable = null;
      this._readableController = null;
      this._writable = null;
      this._writableController = null;
      this._outstanding = 0;
      this._drained = [];
      this._baud = 0;
      this._writes = [];
      this._signals = { dataTerminalReady: false, requestToSend: false, break: false };
      this.onconnect = null;
      this.ondisconnect = null;
    }

    get connected() {
      return this._present;
    }

    getInfo() {
      return { usbVendorId: this._spec.usbVendorId, usbProductId: this._spec.usbProductId };
    }

    get readable() {
      if (!this._ws) {
        return null;
      }
      if (!this._readable) {
        // A new stream when the last one was cancelled, as Chromium gives one
        this._readable = new ReadableStream(
          {
            start: controller => {
              this._readableController = controller;
            },
            cancel: () => {
              this._readable = null;
              this._readableController = null;
            }
          },
          { highWaterMark: 64 * 1024, size: chunk => chunk.length }
        );
      }
      return this._readable;
    }

    get writable() {
      if (!this._ws) {
        return null;
      }
      if (!this._writable) {
        this._writable = new WritableStream({
          start: controller => {
            this._writableController = controller;
          },
          write: chunk => this._write(chunk),
          close: () => this._flush(),
          abort: () => undefined
        });
      }
      return this._writable;
    }

    async open(options) {
      const baud = options && options.baudRate;
      if (typeof baud !== 'number' || !(baud > 0)) {
        throw new TypeError(
          "Failed to execute 'open' on 'SerialPort': Failed to read the 'baudRate' property " +
            "from 'SerialOptions': Required member is undefined."
        );
      }
      if (this._ws) {
        throw new DOMException('The port is already open.', 'InvalidStateError');
      }
      if (!this._present || (this._spec.maxBaud && baud > this._spec.maxBaud)) {
        throw new DOMException('Failed to open serial port.', 'NetworkError');
      }
      const ws = new WebSocket(this._spec.url);
      ws.binaryType = 'arraybuffer';
      await new Promise((resolve, reject) => {
        ws.onopen = resolve;
        ws.onclose = () => reject(new DOMException('Failed to open serial port.', 'NetworkError'));
      });
      ws.send(JSON.stringify({ baud }));
      this._ws = ws;
      this._baud = baud;
      this._outstanding = 0;
      ws.onmessage = event => {
        if (typeof event.data === 'string') {
          const message = JSON.parse(event.data);
          if (message.sent) {
            this._outstanding = Math.max(0, this._outstanding - message.sent);
            this._wakeWriters();
          }
        } else if (this._readableController) {
          this._readableController.enqueue(new Uint8Array(event.data));
        }
        // no reader: the bytes are lost, as a UART's are when nobody reads
      };
      ws.onclose = () => {
        if (this._ws === ws) {
          this._pulled();
        }
      };
    }

    async _write(chunk) {
      const ws = this._ws;
      if (!ws || ws.readyState !== WebSocket.OPEN) {
        throw lost();
      }
      const bytes = chunk instanceof Uint8Array ? chunk : new Uint8Array(chunk);
      ws.send(bytes);
      this._writes.push(bytes.length);
      this._outstanding += bytes.length;
      while (this._ws === ws && this._outstanding > OS_BUFFER) {
        await new Promise(resolve => this._drained.push(resolve));
      }
      if (this._ws !== ws) {
        throw lost();
      }
    }

    async _flush() {
      const ws = this._ws;
      while (this._ws === ws && this._outstanding > 0) {
        await new Promise(resolve => this._drained.push(resolve));
      }
    }

    _wakeWriters() {
      const waiting = this._drained;
      this._drained = [];
      waiting.forEach(resolve => resolve());
    }

    async setSignals(signals) {
      if (!this._ws) {
        throw new DOMException('The port is closed.', 'InvalidStateError');
      }
      for (const key of ['dataTerminalReady', 'requestToSend', 'break']) {
        if (signals && signals[key] !== undefined) {
          this._signals[key] = Boolean(signals[key]);
        }
      }
      const s = this._signals;
      this._ws.send(
        JSON.stringify({
          signals: { dtr: s.dataTerminalReady, rts: s.requestToSend, brk: s.break }
        })
      );
    }

    async getSignals() {
      if (!this._ws) {
        throw new DOMException('The port is closed.', 'InvalidStateError');
      }
      return { dataCarrierDetect: false, clearToSend: true, ringIndicator: false, dataSetReady: true };
    }

    async close() {
      if (!this._ws) {
        throw new DOMException('The port is already closed.', 'InvalidStateError');
      }
      if ((this._readable && this._readable.locked) || (this._writable && this._writable.locked)) {
        throw new DOMException('The port cannot be closed while its streams are locked.', 'InvalidStateError');
      }
      const ws = this._ws;
      this._ws = null;
      this._readable = null;
      this._readableController = null;
      this._writable = null;
      this._writableController = null;
      this._wakeWriters();
      ws.close();
    }

    /** The cable is pulled: the streams fail, the port says so. */
    _pulled(selfPowered = false) {
      const ws = this._ws;
      this._present = false;
      this._ws = null;
      if (this._readableController) {
        this._readableController.error(lost());
      }
      if (this._writableController) {
        this._writableController.error(lost());
      }
      this._readable = null;
      this._readableController = null;
      this._writable = null;
      this._writableController = null;
      this._wakeWriters();
      if (ws && ws.readyState === WebSocket.OPEN) {
        if (!selfPowered) {
          ws.send(JSON.stringify({ unplug: true })); // the board loses its USB power
        }
        ws.close();
      }
      const event = new Event('disconnect', { bubbles: true });
      this.dispatchEvent(event);
      if (this.ondisconnect) {
        this.ondisconnect(event);
      }
      serial._portGone(this);
    }
  }

  class Serial extends EventTarget {
    constructor() {
      super();
      this._ports = PORTS.map(spec => new SerialPort(spec));
      this._granted = new Set();
      this._choice = 0;
      this.onconnect = null;
      this.ondisconnect = null;
    }

    async requestPort(options) {
      if (!navigator.userActivation || !navigator.userActivation.isActive) {
        throw new DOMException(
          "Failed to execute 'requestPort' on 'Serial': Must be handling a user gesture to show a permission request.",
          'SecurityError'
        );
      }
      const filters = (options && options.filters) || [];
      const matches = port =>
        !filters.length ||
        filters.some(
          f =>
            (f.usbVendorId === undefined || f.usbVendorId === port._spec.usbVendorId) &&
            (f.usbProductId === undefined || f.usbProductId === port._spec.usbProductId)
        );
      const port = this._choice === null ? null : this._ports[this._choice];
      if (!port || !port._present || !matches(port)) {
        throw new DOMException('No port selected by the user.', 'NotFoundError');
      }
      this._granted.add(port);
      return port;
    }

    async getPorts() {
      return [...this._granted].filter(port => port._present);
    }

    _portGone(port) {
      const event = new Event('disconnect');
      Object.defineProperty(event, 'target', { value: port });
      this.dispatchEvent(event);
      if (this.ondisconnect) {
        this.ondisconnect(event);
      }
    }
  }

  const serial = new Serial();
  Object.defineProperty(Navigator.prototype, 'serial', {
    configurable: true,
    enumerable: true,
    get: () => serial
  });
  Object.defineProperty(window, '__serialShim', {
    value: {
      choose: index => {
        serial._choice = index;
      },
      unplug: (index, how) => serial._ports[index]._pulled(Boolean(how && how.selfPowered)),
      plug: index => {
        const port = serial._ports[index];
        port._present = true;
        const event = new Event('connect', { bubbles: true });
        port.dispatchEvent(event);
      },
      isOpen: index => serial._ports[index]._ws !== null,
      baud: index => serial._ports[index]._baud,
      writes: index => serial._ports[index]._writes.splice(0)
    }
  });
}
