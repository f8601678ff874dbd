/** Types for the part of noVNC 1.7's RFB client this app uses (the package ships none). */
declare module "@novnc/novnc" {
  export interface RfbOptions {
    shared?: boolean;
    credentials?: { username?: string; password?: string; target?: string };
    wsProtocols?: string[];
  }
  export default class RFB {
    constructor(target: HTMLElement, urlOrChannel: string | WebSocket, options?: RfbOptions);
    scaleViewport: boolean;
    clipViewport: boolean;
    resizeSession: boolean;
    focusOnClick: boolean;
    viewOnly: boolean;
    background: string;
    qualityLevel: number;
    compressionLevel: number;
    disconnect(): void;
    focus(options?: FocusOptions): void;
    blur(): void;
    sendCtrlAltDel(): void;
    sendKey(keysym: number, code: string | null, down?: boolean): void;
    clipboardPasteFrom(text: string): void;
    addEventListener(type: "connect", cb: (e: CustomEvent<Record<string, never>>) => void): void;
    addEventListener(type: "disconnect", cb: (e: CustomEvent<{ clean: boolean }>) => void): void;
    addEventListener(type: "desktopname", cb: (e: CustomEvent<{ name: string }>) => void): void;
    addEventListener(type: "clipboard", cb: (e: CustomEvent<{ text: string }>) => void): void;
    addEventListener(
      type: "securityfailure",
      cb: (e: CustomEvent<{ status: number; reason?: string }>) => void,
    ): void;
    addEventListener(
      type: "credentialsrequired",
      cb: (e: CustomEvent<{ types: string[] }>) => void,
    ): void;
    addEventListener(type: string, cb: (e: CustomEvent<unknown>) => void): void;
    removeEventListener(type: string, cb: (e: CustomEvent<unknown>) => void): void;
  }
}
