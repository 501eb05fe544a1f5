/**
 * Variant `bare`: the bench app with no observability at all, the baseline
 * every other variant is divided by.
 */
import { BenchAppModule } from './bench-app.module';
import { run, serve } from './serve';

run(() => serve(BenchAppModule.with()));
