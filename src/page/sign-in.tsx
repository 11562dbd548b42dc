/** GET /: the sign-in page. A plain form (works without JavaScript) that POSTs the project key to /session. */
import { Layout } from "./layout";

export function SignInPage(props: { error?: string; signedOut?: boolean }) {
  return (
    <Layout title="Sign in · Metrics Export">
      <main id="main" class="narrow">
        <h1>Metrics Export</h1>
        <p class="lede">Sign in with your project key to configure where this project's metrics are exported.</p>
        {props.signedOut ? (
          <p class="notice" role="status">
            You are signed out.
          </p>
        ) : null}
        <form method="post" action="/session" class="card" autocomplete="off">
          <div class="field">
            <label for="project-key">Project key</label>
            <input
              id="project-key"
              name="project_key"
              type="password"
              required
              spellcheck={false}
              autocomplete="off"
              aria-describedby={props.error ? "project-key-hint project-key-error" : "project-key-hint"}
              aria-invalid={props.error ? "true" : undefined}
            />
            <p id="project-key-hint" class="hint">
              A key that starts with <code>cmx_pk_</code>, created by your administrator for one project. It is kept on the
              server: this browser only holds a session cookie.
            </p>
            {props.error ? (
              <p id="project-key-error" class="field-error" role="alert">
                {props.error}
              </p>
            ) : null}
          </div>
          <button type="submit" class="primary">
            Sign in
          </button>
        </form>
      </main>
    </Layout>
  );
}
