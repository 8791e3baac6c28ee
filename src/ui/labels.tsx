/** A secret's labels as chips that filter the list by that label. */
import type { FC } from 'hono/jsx';

export const LabelChips: FC<{ labels: Record<string, string> }> = ({ labels }) => (
  <ul class="labels">
    {Object.entries(labels).map(([k, v]) => {
      const filter = v === '' ? k : `${k}=${v}`;
      return (
        <li>
          <a class="label" href={`/ui?label=${encodeURIComponent(filter)}`} title={`show secrets labelled ${filter}`}>
            {filter}
          </a>
        </li>
      );
    })}
  </ul>
);
