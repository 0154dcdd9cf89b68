// Live updates over the WebSocket /v1/events (protocol: cli/src/events.rs). Resumes from the last sequence
// number seen, so a dropped connection loses nothing; reconnects with growing delays (0.5 s doubling to
// 15 s, with jitter) and says so through onState: "connecting", "live", "reconnecting", "unavailable".

export class Live {
  constructor({ token, url, onChange, onReset, onState, onCaughtUp, onHello }) {
    this.token = token;
    // The socket's URL when it is not /v1/events of this origin (in AWS: the WebSocket API, from /v1/me).
    this.url = url ?? null;
    this.onChange = onChange;
    this.onReset = onReset;
    this.onState = onState;
    this.onCaughtUp = onCaughtUp ?? (() => {});
    this.onHello = onHello ?? (() => {});
    this.seq = null;
    this.attempt = 0;
    this.closed = false;
    this.socket = null;
    this.timer = null;
    // Once the socket is "unavailable", the page polls; the retries keep going, but only "live" (or a
    // refused token) ends that state: a retry saying "reconnecting" would stop the polling.
    this.unavailable = false;
  }

  say(state) {
    if (this.unavailable && (state === "connecting" || state === "reconnecting")) return;
    this.unavailable = state === "unavailable";
    this.onState(state);
  }

  start() {
    this.connect();
  }

  stop() {
    this.closed = true;
    clearTimeout(this.timer);
    this.socket?.close();
  }

  /** Drops the connection as a network failure would (tests and the "reconnect now" button). */
  drop() {
    this.socket?.close();
  }

  connect() {
    if (this.closed) return;
    this.say(this.attempt === 0 ? "connecting" : "reconnecting");
    const url = new URL(this.url ?? "/v1/events", location.href);
    if (!this.url) url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    let socket;
    try {
      socket = new WebSocket(url);
    } catch {
      // A socket that cannot even be made (a URL the browser refuses) counts as a failed attempt.
      if (this.attempt > 3) this.say("unavailable");
      return this.retry();
    }
    this.socket = socket;
    let opened = false;
    socket.onopen = () => {
      opened = true;
      socket.send(JSON.stringify({ type: "auth", token: this.token, since: this.seq }));
    };
    socket.onmessage = (event) => {
      let msg;
      try {
        msg = JSON.parse(event.data);
      } catch {
        return;
      }
      switch (msg.type) {
        case "hello":
          this.attempt = 0;
          this.onHello(msg);
          if (this.seq === null) {
            this.seq = msg.head;
            this.onReset(msg.head);
          }
          break;
        case "reset":
          this.seq = msg.seq;
          this.onReset(msg.seq);
          break;
        case "change":
          this.seq = Math.max(this.seq ?? 0, msg.seq);
          this.onChange(msg);
          break;
        case "caught_up":
          this.seq = Math.max(this.seq ?? 0, msg.seq);
          this.say("live");
          this.onCaughtUp(msg.seq);
          break;
        case "error":
          this.fatal = msg.code;
          break;
      }
    };
    socket.onclose = (event) => {
      if (this.socket !== socket || this.closed) return;
      if (event.code === 4401) {
        this.say("unauthorized");
        return;
      }
      if (!opened && this.attempt > 3) this.say("unavailable");
      this.retry();
    };
  }

  retry() {
    if (this.closed) return;
    this.say("reconnecting");
    const delay = Math.min(15000, 500 * 2 ** this.attempt) * (0.75 + Math.random() * 0.5);
    this.attempt += 1;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
  }
}
