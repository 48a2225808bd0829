// Any path the route table does not know.
import { Link } from "../app/router";

export default function NotFound() {
  return (
    <>
      <h1>Page not found</h1>
      <p>
        There is no page at this address. <Link to="/">Go to the overview</Link>.
      </p>
    </>
  );
}
