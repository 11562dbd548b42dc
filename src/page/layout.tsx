/** The HTML frame shared by the service's pages: no inline script or style (the CSP forbids both). */
import type { Child } from "hono/jsx";

export function Layout(props: { title: string; children: Child; script?: string; bodyData?: Record<string, string> }) {
  const data = Object.fromEntries(Object.entries(props.bodyData ?? {}).map(([k, v]) => [`data-${k}`, v]));
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light" />
        <title>{props.title}</title>
        <link rel="stylesheet" href="/assets/style.css" />
        <link rel="icon" href="/assets/favicon.svg" type="image/svg+xml" />
        {props.script ? <script type="module" src={props.script}></script> : null}
      </head>
      <body {...data}>
        <a class="skip-link" href="#main">
          Skip to content
        </a>
        {props.children}
      </body>
    </html>
  );
}

/** `<!doctype html>` plus the rendered element (c.html() adds no doctype). */
export function htmlDocument(element: unknown): string {
  return "<!doctype html>" + String(element);
}
