/** The page around every route: navigation, who is logged in, the stylesheet and the islands' bundle. */
import type { ComponentChildren } from "preact";

export interface Viewer {
  readonly username: string;
  readonly isSuperuser: boolean;
  readonly csrf: string;
}

export function Layout(props: { title: string; viewer?: Viewer; children: ComponentChildren }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · Basalt`}</title>
        <link rel="stylesheet" href="/static/style.css" />
        {props.viewer && <meta name="csrf-token" content={props.viewer.csrf} />}
        <script type="module" src="/static/build/islands.js" defer />
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header class="top">
          <nav aria-label="Main">
            <a class="brand" href="/">Basalt</a>
            <a href="/">Overview</a>
            <a href="/jobs">Jobs</a>
            <a href="/devices">Devices</a>
            <a href="/workers">Workers</a>
            <a href="/device-types">Device types</a>
            {props.viewer?.isSuperuser && <a href="/admin/users">Users</a>}
            {props.viewer?.isSuperuser && <a href="/admin/groups">Groups</a>}
          </nav>
          <div class="who">
            {props.viewer
              ? (
                <>
                  <a href="/tokens">{props.viewer.username}</a>
                  <form method="post" action="/web/logout">
                    <input type="hidden" name="csrf" value={props.viewer.csrf} />
                    <button type="submit" class="link">Log out</button>
                  </form>
                </>
              )
              : <a href="/login">Log in</a>}
          </div>
        </header>
        <main id="main">
          <h1>{props.title}</h1>
          {props.children}
        </main>
      </body>
    </html>
  );
}
