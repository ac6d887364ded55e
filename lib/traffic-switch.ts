import { Duration } from 'aws-cdk-lib';
import * as route53 from 'aws-cdk-lib/aws-route53';

/** Options of {@link TrafficSwitch.route53}. */
export interface Route53TrafficSwitchOptions {
  /**
   * The hosted zone the weighted records are created in. Its name must be known at synth time:
   * a zone created in the app, or one imported with `HostedZone.fromHostedZoneAttributes` or
   * `HostedZone.fromLookup` (not `fromHostedZoneId`).
   */
  readonly zone: route53.IHostedZone;

  /**
   * Name of the weighted records: relative to the zone (`www`), or fully qualified
   * (`www.example.com`). The zone's own name puts them at the zone apex (alias records only).
   */
  readonly recordName: string;

  /**
   * TTL of the records. Setting it makes the records weighted CNAME records with this TTL
   * instead of alias records (a CNAME cannot sit at the zone apex). Keep it low: after a switch,
   * clients and resolvers keep the old answer for at least the TTL.
   * @default - weighted alias A records, whose TTL is the load balancer's own (60 seconds)
   */
  readonly ttl?: Duration;
}

/**
 * Where production traffic is switched between the colours: the weights of one listener rule
 * on a shared load balancer (the default), or Route 53 weighted records in front of a load
 * balancer per colour.
 */
export class TrafficSwitch {
  /**
   * One load balancer for both colours: a catch-all rule on the production listener forwards to
   * both target groups, and the workflow moves its weights. A test listener reaches the idle colour.
   */
  public static listenerRule(): TrafficSwitch {
    return new TrafficSwitch('ListenerRule');
  }

  /**
   * A load balancer per colour, each forwarding to its own colour only, and two weighted records
   * (set identifiers `blue` and `green`) in `options.zone` pointing at them. The workflow moves
   * the records' weights in one Route 53 change and waits until it is INSYNC. The idle colour's
   * own load balancer is its test endpoint.
   */
  public static route53(options: Route53TrafficSwitchOptions): TrafficSwitch {
    return new TrafficSwitch('Route53', options);
  }

  /**
   * @param kind `ListenerRule` or `Route53`
   * @param route53Options the options of a Route 53 switch
   */
  protected constructor(public readonly kind: string, public readonly route53Options?: Route53TrafficSwitchOptions) {}

  /** Whether traffic is switched by Route 53 records. */
  public get isRoute53(): boolean {
    return this.kind === 'Route53';
  }
}
