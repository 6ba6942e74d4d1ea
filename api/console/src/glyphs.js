// How units and incidents look: one colour per status, one shape per kind, drawn on canvas.
export const STATUS_COLOUR = {
  available: '#15803d', // green: free to take a job
  busy: '#c2410c', // orange: on a job
  returning: '#7c3aed', // violet: heading home
  charging: '#2563eb', // blue: on its dock
  unknown: '#6b7280',
  offline: '#9ca3af', // grey: silent past the offline limit
};

export const colourOf = (u) => (u.online === false ? STATUS_COLOUR.offline : STATUS_COLOUR[u.status] || STATUS_COLOUR.unknown);

export const KIND_LABEL = {
  drone: 'Drone', car: 'Car', motorbike: 'Motorbike', bicycle: 'Bicycle', foot: 'Foot patrol',
  boat: 'Boat', team: 'Team',
};

/** Draws one unit centred on (x, y); `big` for the selected one. */
export function drawUnit(ctx, u, x, y, big) {
  const s = big ? 1.5 : 1;
  ctx.fillStyle = colourOf(u);
  ctx.strokeStyle = big ? '#111827' : '#ffffff';
  ctx.lineWidth = big ? 2.5 : 1.5;
  ctx.beginPath();
  switch (u.kind) {
    case 'drone': {
      // An arrow pointing along the heading, so a dispatcher sees where it flies.
      const a = ((u.heading_deg || 0) * Math.PI) / 180;
      const r = 10 * s;
      const pts = [[0, -r], [0.7 * r, 0.75 * r], [0, 0.35 * r], [-0.7 * r, 0.75 * r]];
      pts.forEach(([px, py], i) => {
        const rx = x + px * Math.cos(a) - py * Math.sin(a);
        const ry = y + px * Math.sin(a) + py * Math.cos(a);
        if (i === 0) ctx.moveTo(rx, ry); else ctx.lineTo(rx, ry);
      });
      ctx.closePath();
      break;
    }
    case 'car': case 'boat':
      ctx.rect(x - 6 * s, y - 6 * s, 12 * s, 12 * s);
      break;
    case 'motorbike': case 'bicycle':
      ctx.moveTo(x, y - 7 * s); ctx.lineTo(x + 7 * s, y); ctx.lineTo(x, y + 7 * s); ctx.lineTo(x - 7 * s, y);
      ctx.closePath();
      break;
    case 'team':
      ctx.arc(x, y, 8 * s, 0, 2 * Math.PI);
      break;
    default: // foot patrols and anything new
      ctx.arc(x, y, 5.5 * s, 0, 2 * Math.PI);
  }
  ctx.fill();
  ctx.stroke();
  if (u.kind === 'team' && u.team_size > 1) {
    ctx.fillStyle = '#fff';
    ctx.font = `bold ${Math.round(9 * s)}px system-ui, sans-serif`;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText(String(u.team_size), x, y + 0.5);
  }
}

/** A text label with a white halo, readable over any basemap colour. */
export function label(ctx, text, x, y, bold = false) {
  ctx.font = `${bold ? 'bold ' : ''}12px system-ui, sans-serif`;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  ctx.lineWidth = 3;
  ctx.strokeStyle = 'rgba(255,255,255,0.95)';
  ctx.strokeText(text, x, y);
  ctx.fillStyle = '#111827';
  ctx.fillText(text, x, y);
}

// 1-3-5: a responder within 1 minute, mutual aid within 3, reinforcement within 5.
export const TIERS = [60, 180, 300];

/** Colour of an incident's timer: green inside 1 min, amber to 3, red to 5, dark red after. */
export function timerColour(elapsed) {
  if (elapsed < 60) return '#16a34a';
  if (elapsed < 180) return '#d97706';
  if (elapsed < 300) return '#dc2626';
  return '#7f1d1d';
}
