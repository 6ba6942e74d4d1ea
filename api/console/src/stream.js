// /v1/stream over WebSocket: snapshot, then event batches; reconnects with backoff.
import { token } from './api.js';

export function connectStream({ onSnapshot, onEvents, onStatus, onAuthFailed }) {
  let ws;
  let delay = 500;
  let stopped = false;

  function open() {
    const proto = location.protocol === 'https:' ? 'wss' : 'ws';
    ws = new WebSocket(`${proto}://${location.host}/v1/stream?token=${encodeURIComponent(token.get())}`);
    onStatus('connecting');
    ws.onmessage = (msg) => {
      const frame = JSON.parse(msg.data);
      if (frame.type === 'snapshot') {
        delay = 500;
        onStatus('live');
        onSnapshot(frame.data);
      } else if (frame.type === 'events') {
        onEvents(frame.events, frame.dropped || 0);
      }
    };
    ws.onclose = (ev) => {
      // The service closes with 4000 + HTTP status when the token is refused.
      if (ev.code === 4401 || ev.code === 4403) {
        stopped = true;
        onAuthFailed(ev.reason || 'the token was refused');
        return;
      }
      if (stopped) return;
      onStatus('reconnecting');
      setTimeout(open, delay);
      delay = Math.min(delay * 2, 10000);
    };
  }
  open();
  return () => { stopped = true; ws?.close(); };
}
