import {
  reviewToDeviceCapabilities,
  type ToDeviceCapabilityReview,
  validateToDeviceCapabilities,
} from "@widget-todevice/driver";

// A permission prompt the way a host should show one (section 1): to-device capabilities in the
// driver's own account-wide words, reserved types refused with the reason, nothing granted that
// the user did not tick.

export interface PromptRequest {
  readonly widgetName: string;
  readonly origin: string;
  readonly requested: ReadonlySet<string>;
}

export interface PromptAnswer {
  readonly approved: Set<string>;
  /** The user ticked "Remember for this widget". */
  readonly remember: boolean;
}

/**
 * How long the prompt's buttons ignore input after it appears. A widget can hold back its
 * request until the user is typing (in the widget's own text box); without the delay the next
 * keystroke or click could land on a button the user never saw.
 */
export const PROMPT_ARMING_DELAY_MS = 1_000;

/**
 * Asks the user in `container` (the widget's card); resolves with what to approve. Nothing is
 * focused and the buttons are disabled for PROMPT_ARMING_DELAY_MS: the prompt never takes the
 * keyboard, and it never scrolls the page to itself.
 */
export function promptForCapabilities(
  container: HTMLElement,
  request: PromptRequest,
): Promise<PromptAnswer> {
  const review = reviewToDeviceCapabilities(request.requested);
  const dialog = document.createElement("form");
  dialog.className = "prompt";
  dialog.dataset.testid = "capability-prompt";
  dialog.setAttribute("role", "dialog");
  dialog.setAttribute("aria-label", `Permissions for ${request.widgetName}`);
  const heading = document.createElement("h3");
  heading.textContent = `${request.widgetName} wants to`;
  const origin = document.createElement("p");
  origin.className = "origin";
  origin.textContent = `served from ${request.origin}`;
  dialog.append(heading, origin);

  const list = document.createElement("ul");
  for (const grantable of review.grantable) {
    const item = document.createElement("li");
    item.className = "grantable";
    item.innerHTML = `<label><input type="checkbox" checked><span class="description"></span></label><code></code>`;
    const box = item.querySelector("input") as HTMLInputElement;
    box.value = grantable.capability;
    (item.querySelector(".description") as HTMLElement).innerHTML = markdownCode(
      grantable.description,
    );
    (item.querySelector(":scope > code") as HTMLElement).textContent = grantable.capability;
    list.append(item);
  }
  for (const refused of review.refused) {
    const item = document.createElement("li");
    item.className = "refused";
    item.dataset.testid = "refused-capability";
    item.innerHTML = `<span class="refused-mark" aria-hidden="true">✕</span><span class="description"></span><code></code>`;
    (item.querySelector(".description") as HTMLElement).innerHTML =
      `Refused: ${markdownCode(refused.reason)}`;
    (item.querySelector(":scope > code") as HTMLElement).textContent = refused.capability;
    list.append(item);
  }
  for (const other of review.others) {
    const item = document.createElement("li");
    item.className = "refused other";
    item.innerHTML = `<span class="refused-mark" aria-hidden="true">–</span><span class="description">Not offered: this demo host implements only to-device messaging</span><code></code>`;
    (item.querySelector(":scope > code") as HTMLElement).textContent = other;
    list.append(item);
  }
  if (list.childElementCount === 0) {
    const item = document.createElement("li");
    item.textContent = "(nothing: the widget asked for no capabilities)";
    list.append(item);
  }
  const scope = document.createElement("p");
  scope.className = "scope-warning";
  scope.textContent =
    "To-device permissions are account-wide: they reach your contacts' devices directly, not only this room.";
  const buttons = document.createElement("div");
  buttons.className = "buttons";
  buttons.innerHTML = `<label class="remember"><input type="checkbox" name="remember"> Remember for this widget</label><button type="button" data-action="deny" disabled>Deny</button><button type="submit" data-action="allow" disabled>Allow selected</button>`;
  dialog.append(list);
  if (review.grantable.length > 0) dialog.append(scope);
  dialog.append(buttons);
  container.append(dialog);
  const rememberBox = buttons.querySelector("input[name=remember]") as HTMLInputElement;
  const armed = window.setTimeout(() => {
    for (const button of buttons.querySelectorAll("button")) button.disabled = false;
  }, PROMPT_ARMING_DELAY_MS);

  return new Promise((resolve) => {
    const finish = (ticked: ReadonlySet<string>) => {
      window.clearTimeout(armed);
      const remember = rememberBox.checked;
      dialog.remove();
      // The driver's helper: reserved and malformed capabilities are never approved, whatever
      // was ticked.
      void validateToDeviceCapabilities(request.requested, (r) => ticked.has(r.capability)).then(
        (approved) => resolve({ approved, remember }),
      );
    };
    dialog.addEventListener("submit", (event) => {
      event.preventDefault();
      const ticked = new Set(
        [...list.querySelectorAll<HTMLInputElement>("input[type=checkbox]:checked")].map(
          (box) => box.value,
        ),
      );
      finish(ticked);
    });
    dialog.querySelector("[data-action=deny]")?.addEventListener("click", () => finish(new Set()));
  });
}

/** What a host that approves without asking granted and refused, for the card's summary. */
export function reviewOf(requested: Iterable<string>): ToDeviceCapabilityReview {
  return reviewToDeviceCapabilities(requested);
}

/** Escapes text and turns the driver's `code` spans into <code>. */
export function markdownCode(text: string): string {
  const escaped = text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c,
  );
  return escaped.replace(/`([^`]+)`/g, "<code>$1</code>");
}
