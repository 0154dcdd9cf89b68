// A short beep (WebAudio) and a browser notification, for new work and new customer texts while the tab is
// hidden. Nothing is played or shown while the agent is looking at the page.

let audio = null;

export function beep() {
  try {
    audio ??= new AudioContext();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.001, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.2, audio.currentTime + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.25);
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.3);
  } catch {
    // No audio device or no user gesture yet: the notification and the badge still tell.
  }
}

/** Asks for permission once, from a user gesture (sign-in). */
export function askPermission() {
  if ("Notification" in window && Notification.permission === "default") {
    Notification.requestPermission().catch(() => {});
  }
}

/** Beeps and notifies when the page is hidden; returns whether it alerted. `tag`: notifications with the
 * same tag replace each other (one per conversation), others stack. */
export function alertHidden(title, body, tag = "smsdesk") {
  if (document.visibilityState !== "hidden") return false;
  beep();
  if ("Notification" in window && Notification.permission === "granted") {
    try {
      new Notification(title, { body, tag });
    } catch {
      // Some browsers only allow notifications from a service worker; the beep and the badge remain.
    }
  }
  return true;
}
