#!/usr/bin/env python3
"""Checks infra/template.yaml against what production engineers rely on (issue: the stack as deployed).

Run by scripts/test with the cache's Python (it has cfn-lint, whose YAML loader understands !Ref and the
other CloudFormation tags). Each check prints `ok` or `FAIL` with what is wrong; the last line is
`N passed, N failed`, and the exit code is non-zero when anything failed.

What it checks:
- every function: its own CodeUri (built as its own package, so Cargo unifies no other function's
  features), a log group with retention, JSON logs without Lambda's INFO platform lines (LogFormat
  JSON, SystemLogLevel WARN: no START/END/REPORT lines billed), an error alarm that notifies someone, a
  concurrency limit (reserved concurrency or its SQS trigger's MaximumConcurrency), a throttle alarm when
  the limit is reserved concurrency (an SQS trigger's limit throttles nothing: its queue's age alarm shows
  it instead, and no throttle alarm pretends otherwise), X-Ray tracing, and a gradual deployment rolled
  back by: its error alarm (Lambda Errors: crashes, time-outs) and its failures alarm (the smsdesk
  `Failures` metric it counts itself: 5xx answers, messages given up on, which Lambda never sees as
  errors), whatever the conditions; for a function behind the HTTP API, the API's 5xx alarm too; for one
  with a function URL, that URL's 5xx alarm (AWS/Lambda Url5xxCount) under the URL's condition;
- IAM: each function's actions are exactly those of its row in infra/TABLES.md ("IAM per function"), on
  the table, queues and secrets that row names, and nothing else; and on the table, each action is allowed
  on exactly the leading keys (`dynamodb:LeadingKeys`) of its rows in "Key prefixes per function" (written
  from the code paths, which the AWS-shape tests hold to the template call by call), `any` only where a
  statement has no condition;
- every queue has an alarm (age of the oldest message for working queues, depth for dead-letter queues);
- every alarm notifies the alarm topic, and again when it returns to OK, says what it means and the first
  thing to check, and has a section in the README's runbook;
- the dashboard shows every queue and lists every alarm (but those made under a condition);
- CloudWatch can publish to every topic alarms notify: not encrypted with an AWS-managed key (alias/aws/sns,
  whose policy CloudWatch may not use), but with a customer managed key of the stack whose policy lets
  cloudwatch.amazonaws.com use kms:Decrypt and kms:GenerateDataKey*, administered by the account, rotated;
- the table is protected from deletion; dead-letter queues are retained; queues set their retention;
- every retained resource is named by CloudFormation, so a failed first deploy can be retried under the same
  stack name (a retained log group named /aws/lambda/<stack>/<fn> was still there and blocked the retry);
- the API writes access logs to a log group with retention; the outputs name every URL (every queue's
  too), the table, the media bucket, the topic and the dashboard;
- the timers schedule: alarms on its rule's own metrics (stopped: Invocations with missing data breaching;
  failing: FailedInvocations); an alarm that treats missing data as breaching reads one metric, not math;
- tags on everything that takes them (the resource types' schemas, from cfn-lint), and PropagateTags for
  what SAM makes for the functions;
- webhooks on a function URL (parameter WebhookIngress=FunctionUrl): the URL is inbound-webhook's live
  alias, public (the provider's signature authenticates) with both permissions Lambda requires; the
  webhook function checks signatures against the host it was called at, every other function is told
  the URL, and the WebhookBaseUrl output names it;
- the console and /v1 on a function URL (parameter ApiIngress=FunctionUrl): the URL is agent-api's live
  alias, public with both permissions, allowing the console's origin as the API does; agent-api is told
  the stack's audiences (it checks JwtIssuer's tokens itself there), and the ConsoleUrl output names it;
- live updates: the table streams new and old images; the WebSocket API routes `$connect`, `$default` and
  `$disconnect` to the `live` function; the stream feeds `live` with bisect on error, partial batch
  failures, bounded retries and an on-failure destination; `execute-api:ManageConnections` names that API.
"""

import json
import os
import re
import sys

from cfnlint.decode import cfn_yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEMPLATE = os.path.join(ROOT, "infra", "template.yaml")
TABLES = os.path.join(ROOT, "infra", "TABLES.md")
README = os.path.join(ROOT, "README.md")

results = []

# Properties that give a resource a fixed physical name.
NAME_PROPERTIES = ("LogGroupName", "TableName", "BucketName", "QueueName", "TopicName", "FunctionName",
                   "RoleName", "AliasName", "Name")


def check(name, ok, detail=""):
    results.append((name, bool(ok), detail))


def ref(value):
    """The logical id named by {"Ref": X} or {"Fn::GetAtt": [X, ...]} (and X.Alias), else None."""
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"]).split(".")[0]
        if "Fn::GetAtt" in value:
            att = value["Fn::GetAtt"]
            return str(att[0] if isinstance(att, list) else att.split(".")[0])
        if "Fn::Sub" in value:
            sub = value["Fn::Sub"]
            text = sub[0] if isinstance(sub, list) else sub
            m = re.match(r"^\$\{([A-Za-z0-9]+)", str(text))
            return m.group(1) if m else None
    return None


def as_list(v):
    return v if isinstance(v, list) else [v]


def alarm_targets_topic(props):
    actions = props.get("AlarmActions")
    if not actions:
        return False
    text = repr(actions)
    return "AlarmTopic" in text


def parse_iam_table():
    """infra/TABLES.md, section "IAM per function": | function | service | actions | on |."""
    text = open(TABLES, encoding="utf-8").read()
    m = re.search(r"^### IAM per function\n(.*?)(?=^#|\Z)", text, re.S | re.M)
    rows = {}
    if not m:
        return rows
    for line in m.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4 or cells[0] in ("function", "") or set(cells[0]) <= {"-", ":"}:
            continue
        fn, _service, actions, on = cells
        acts = frozenset(a.strip(" `") for a in actions.split(",") if a.strip(" `"))
        targets = frozenset(t.strip(" `") for t in on.split(",") if t.strip(" `"))
        rows.setdefault(fn.strip("`"), set()).add((acts, targets))
    return rows


def parse_key_table():
    """infra/TABLES.md, section "Key prefixes per function": | function | actions | leading keys | code paths |
    as {function: {(action, key)}}, key `any` for a statement without a dynamodb:LeadingKeys condition."""
    text = open(TABLES, encoding="utf-8").read()
    m = re.search(r"^### Key prefixes per function\n(.*?)(?=^#|\Z)", text, re.S | re.M)
    rows = {}
    if not m:
        return rows
    for line in m.group(1).splitlines():
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4 or cells[0] in ("function", "") or set(cells[0]) <= {"-", ":"}:
            continue
        fn, actions, keys, _paths = cells
        acts = [a.strip(" `") for a in actions.split(",") if a.strip(" `")]
        ks = [k.strip(" `") for k in keys.split(",") if k.strip(" `")]
        pairs = rows.setdefault(fn.strip("`"), set())
        for a in acts:
            for k in ks:
                pairs.add((a, k))
    return rows


def template_key_pairs(props):
    """A function's DynamoDB statements on the table as {(action, leading key or `any`)}, and the problems
    found: a condition other than ForAllValues:StringLike dynamodb:LeadingKeys, or one on an index."""
    pairs, problems = set(), []
    for policy in as_list(props.get("Policies", [])):
        if not isinstance(policy, dict):
            continue
        for st in policy.get("Statement", []):
            if st.get("Effect") != "Allow":
                continue
            targets = repr(st.get("Resource"))
            if ("Table.Arn" not in targets and "'Table'" not in targets) or "StreamArn" in targets:
                continue
            actions = [a for a in as_list(st.get("Action")) if a.startswith("dynamodb:")]
            cond = st.get("Condition")
            if cond is None:
                keys = ["any"]
            else:
                keys = cond.get("ForAllValues:StringLike", {}).get("dynamodb:LeadingKeys")
                if keys is None or len(cond) != 1:
                    problems.append(f"{st.get('Sid')}: condition {cond!r}")
                    keys = []
                if "/index/" in targets:
                    problems.append(f"{st.get('Sid')}: a leading-keys condition on an index")
            for a in actions:
                for k in as_list(keys):
                    pairs.add((a, k))
    return pairs, problems


def statement_targets(resource):
    """Logical names a policy statement's resources point at: Table, a queue's logical id, or `secrets`."""
    names = set()
    for r in as_list(resource):
        target = ref(r)
        text = repr(r)
        if "secretsmanager" in text:
            names.add("secrets")
        elif "execute-api" in text:
            names.add(target if target == "WebSocketApi" else "WebSocketApi" if "${WebSocketApi}" in text else text)
        elif "StreamArn" in text:
            names.add("TableStream")
        elif "sms-voice" in text:
            names.add("sms-voice")
        elif r == "*":
            names.add("*")
        elif target == "Table" or (target is None and "Table.Arn" in text):
            names.add("Table")
        elif target:
            names.add(target)
        else:
            names.add(text)
    return names


def trigger_branches(alarms):
    """A DeploymentPreference's Alarms as [(condition, alarm logical ids)]: one branch (condition None) for a
    list, two for `!If [C, [...], [...]]` ((C, True) and (C, False))."""
    if isinstance(alarms, dict) and "Fn::If" in alarms:
        cond, yes, no = alarms["Fn::If"]
        return [((cond, True), [ref(a) for a in as_list(yes)]), ((cond, False), [ref(a) for a in as_list(no)])]
    return [(None, [ref(a) for a in as_list(alarms)])]


def key_policy_grants(key_props, principal, actions):
    """Whether a KMS key policy allows the service `principal` every one of `actions` (wildcards as written)."""
    granted = set()
    for st in key_props.get("KeyPolicy", {}).get("Statement", []):
        services = as_list(st.get("Principal", {}).get("Service", [])) if isinstance(st.get("Principal"), dict) else []
        if st.get("Effect") == "Allow" and principal in services:
            granted.update(as_list(st.get("Action", [])))
    return all(a in granted or "kms:*" in granted for a in actions)


def check_alarm_topics(res, by_type, alarms):
    """Every SNS topic of the stack that alarms notify: CloudWatch must be able to publish to it. An encrypted
    topic needs a key whose policy lets cloudwatch.amazonaws.com use kms:Decrypt and kms:GenerateDataKey*;
    an AWS-managed key (alias/aws/...) has a policy nobody can change that does not, so every notification
    would fail."""
    notified = set()
    for a in alarms.values():
        for action in as_list(a.get("AlarmActions", [])) + as_list(a.get("OKActions", [])):
            for name in re.findall(r"'Ref': '([A-Za-z0-9]+)'", repr(action)):
                if res.get(name, {}).get("Type") == "AWS::SNS::Topic":
                    notified.add(name)
    check("alarms notify a topic of the stack", notified, repr(sorted(notified)))
    for topic in sorted(notified):
        key = res[topic]["Properties"].get("KmsMasterKeyId")
        if key is None:
            check(f"{topic}: CloudWatch can publish to it (unencrypted)", True)
            continue
        managed = isinstance(key, str) and (key.startswith("alias/aws/") or ":alias/aws/" in key)
        check(f"{topic}: not encrypted with an AWS-managed key (CloudWatch cannot use alias/aws/sns)",
              not managed, repr(key))
        key_id = ref(key)
        props = res.get(key_id, {}).get("Properties", {}) if res.get(key_id, {}).get("Type") == "AWS::KMS::Key" else None
        check(f"{topic}: encrypted with a customer managed key of the stack", props is not None, repr(key))
        if props is None:
            continue
        check(f"{topic}: its key lets cloudwatch.amazonaws.com kms:Decrypt and kms:GenerateDataKey*",
              key_policy_grants(props, "cloudwatch.amazonaws.com", ["kms:Decrypt", "kms:GenerateDataKey*"]),
              repr(props.get("KeyPolicy")))
        admin = any(st.get("Effect") == "Allow" and "kms:*" in as_list(st.get("Action", []))
                    and ":root" in repr(st.get("Principal"))
                    for st in props.get("KeyPolicy", {}).get("Statement", []))
        check(f"{topic}: its key is administered by the account (kms:* for the account root)", admin)
        check(f"{topic}: its key rotates", props.get("EnableKeyRotation") is True)


def check_schedule(res, by_type, alarms):
    """The timers schedule is watched by its EventBridge rule's own metrics: timers' Lambda invocations also
    come from its SQS trigger, so they keep up when the schedule stops. A stopped rule publishes nothing, so
    that alarm treats missing data as breaching; and it reads the metric itself (a math expression over a
    metric that has no data at all gives no value, so a breaching alarm on it could never return to OK)."""
    rules = [lid for lid in by_type.get("AWS::Events::Rule", []) if "ScheduleExpression" in res[lid]["Properties"]]
    check("one schedule rule (the timers sweep)", len(rules) == 1, repr(rules))
    for rule in rules:
        def watching(metric):
            return [lid for lid, a in alarms.items() if a.get("Namespace") == "AWS/Events"
                    and a.get("MetricName") == metric
                    and any(d.get("Name") == "RuleName" and ref(d.get("Value")) == rule for d in a.get("Dimensions", []))]
        stopped = watching("Invocations")
        check(f"{rule}: an alarm fires when it stops invoking (Invocations below 1, missing data breaching)",
              any(alarms[a].get("ComparisonOperator") == "LessThanThreshold" and alarms[a].get("Threshold") == 1
                  and alarms[a].get("TreatMissingData") == "breaching" for a in stopped), repr(stopped))
        failing = watching("FailedInvocations")
        check(f"{rule}: an alarm fires when its invocations fail (FailedInvocations, no data = no failure)",
              any(alarms[a].get("TreatMissingData") == "notBreaching" for a in failing), repr(failing))
    for lid, a in alarms.items():
        if a.get("TreatMissingData") == "breaching":
            check(f"{lid}: treats missing data as breaching on one metric, not on a math expression (it can "
                  "return to OK)", "Metrics" not in a and a.get("MetricName"))


def check_tags(t, res):
    """Tags on everything that takes them: each resource whose CloudFormation type has a Tags property sets
    it; SAM functions take Globals' tags, which PropagateTags also puts on what SAM makes for them (roles,
    CodeDeploy's application, deployment groups and role)."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER
    glob = t.get("Globals", {}).get("Function", {})
    check("functions are tagged, and so is what SAM makes for them (Globals Tags, PropagateTags)",
          glob.get("Tags", {}).get("app") == "smsdesk" and glob.get("PropagateTags") is True,
          repr({k: glob.get(k) for k in ("Tags", "PropagateTags")}))
    untagged = []
    for lid, r in res.items():
        if r["Type"].startswith("AWS::Serverless::"):
            continue
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", r["Type"]).schema
        if "Tags" in schema.get("properties", {}) and not r.get("Properties", {}).get("Tags"):
            untagged.append(lid)
    check("every resource whose type takes tags has them", not untagged, repr(untagged))


def check_live(res, by_type):
    """The console's live updates: stream, WebSocket API, its routes, the stream's trigger, IAM."""
    table = res["Table"]["Properties"]
    check("table: stream of new and old images (live updates)",
          table.get("StreamSpecification", {}).get("StreamViewType") == "NEW_AND_OLD_IMAGES")
    live = [f for f in by_type.get("AWS::Serverless::Function", [])
            if res[f].get("Metadata", {}).get("BuildProperties", {}).get("Binary") == "live"]
    check("a `live` function", len(live) == 1, repr(live))
    fn = live[0] if live else None
    apis = [a for a in by_type.get("AWS::ApiGatewayV2::Api", [])
            if res[a]["Properties"].get("ProtocolType") == "WEBSOCKET"]
    check("a WebSocket API", len(apis) == 1, repr(apis))
    api = apis[0] if apis else None
    routes = {}
    for lid in by_type.get("AWS::ApiGatewayV2::Route", []):
        props = res[lid]["Properties"]
        if ref(props.get("ApiId")) != api:
            continue
        m = re.search(r"integrations/\$\{([A-Za-z0-9]+)\}", repr(props.get("Target")))
        integration = m.group(1) if m else None
        uri = res.get(integration, {}).get("Properties", {}).get("IntegrationUri")
        routes[props.get("RouteKey")] = fn is not None and f"'Ref': '{fn}.Alias'" in repr(uri)
    for key in ("$connect", "$default", "$disconnect"):
        check(f"WebSocket route {key} goes to live", routes.get(key), repr(routes))
    streams = [res[lid]["Properties"] for lid in by_type.get("AWS::Lambda::EventSourceMapping", [])
               if "StreamArn" in repr(res[lid]["Properties"].get("EventSourceArn"))]
    check("the table's stream feeds live", len(streams) == 1 and ref(streams[0].get("FunctionName")) == fn)
    for props in streams:
        check("stream trigger: bisect on error", props.get("BisectBatchOnFunctionError") is True)
        check("stream trigger: partial batch failures",
              "ReportBatchItemFailures" in as_list(props.get("FunctionResponseTypes", [])))
        check("stream trigger: bounded retries", isinstance(props.get("MaximumRetryAttempts"), int))
        dest = ref(props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination"))
        check("stream trigger: failed batches go to a dead-letter queue",
              dest in res and res[dest]["Type"] == "AWS::SQS::Queue", repr(dest))
    manage = []
    for f in by_type.get("AWS::Serverless::Function", []):
        for policy in as_list(res[f]["Properties"].get("Policies", [])):
            for st in (policy.get("Statement", []) if isinstance(policy, dict) else []):
                if "execute-api:ManageConnections" in as_list(st.get("Action")):
                    manage.append((f, as_list(st.get("Resource"))))
    check("only live manages WebSocket connections", [f for f, _ in manage] == [fn], repr(manage))
    for _, resources in manage:
        check("ManageConnections names the WebSocket API's connections, nothing wider",
              resources and all("${WebSocketApi}/" in repr(r) and "@connections/" in repr(r) for r in resources),
              repr(resources))


def check_function_url(res, by_type, url_id, condition, function, why_public):
    """One function's own URL (`url_id`, made under `condition`): public, buffered, on the function's live
    alias (as its API route), with both resource-policy statements function URLs need."""
    url = res.get(url_id, {})
    props = url.get("Properties", {})
    check(f"{url_id} is made only under {condition}",
          url.get("Condition") == condition and res.get(function) is not None, repr(url.get("Condition")))
    check(f"{url_id} invokes {function}'s live alias (as its API route does)",
          ref(props.get("TargetFunctionArn")) == function and props.get("Qualifier") == "live"
          and url.get("DependsOn") == f"{function}Aliaslive", repr(props))
    check(f"{url_id} is public (AuthType NONE; {why_public}) and buffered",
          props.get("AuthType") == "NONE" and props.get("InvokeMode") == "BUFFERED", repr(props))
    perms = [res[p]["Properties"] for p in by_type.get("AWS::Lambda::Permission", [])
             if res[p].get("Condition") == condition]
    def granted(action, key, value):
        return any(p.get("Action") == action and p.get("Principal") == "*" and p.get(key) == value
                   and f"'Ref': '{function}.Alias'" in repr(p.get("FunctionName")) for p in perms)
    check(f"{url_id}'s permissions: lambda:InvokeFunctionUrl (FunctionUrlAuthType NONE)",
          granted("lambda:InvokeFunctionUrl", "FunctionUrlAuthType", "NONE"), repr(perms))
    check(f"{url_id}'s permissions: lambda:InvokeFunction (InvokedViaFunctionUrl, required since 2025-10)",
          granted("lambda:InvokeFunction", "InvokedViaFunctionUrl", True), repr(perms))
    return props


def check_function_urls(res, by_type, glob, outputs):
    """WebhookIngress=FunctionUrl and ApiIngress=FunctionUrl: inbound-webhook's and agent-api's own URLs,
    and who is told about them."""
    urls = sorted(by_type.get("AWS::Lambda::Url", []))
    check("two function URLs: the webhooks' and the API's", urls == ["AgentApiFunctionUrl", "WebhookFunctionUrl"],
          repr(urls))
    check_function_url(res, by_type, "WebhookFunctionUrl", "WebhooksOnFunctionUrl", "InboundWebhookFunction",
                       "the provider's signature authenticates")
    told = glob.get("Environment", {}).get("Variables", {}).get("SMSDESK_WEBHOOK_URL")
    check("every function is told the function URL (Globals SMSDESK_WEBHOOK_URL)",
          told == {"Fn::If": ["WebhooksOnFunctionUrl", {"Fn::GetAtt": ["WebhookFunctionUrl", "FunctionUrl"]}, ""]},
          repr(told))
    own = (res.get("InboundWebhookFunction", {}).get("Properties", {}).get("Environment", {})
           .get("Variables", {}).get("SMSDESK_WEBHOOK_URL"))
    check("inbound-webhook checks signatures at the host it was called at (SMSDESK_WEBHOOK_URL request-host)",
          own == {"Fn::If": ["WebhooksOnFunctionUrl", "request-host", ""]}, repr(own))
    check("output WebhookBaseUrl names the function URL with WebhookIngress=FunctionUrl",
          "WebhookFunctionUrl.FunctionUrl" in repr(outputs.get("WebhookBaseUrl", {}).get("Value")))

    props = check_function_url(res, by_type, "AgentApiFunctionUrl", "ApiOnFunctionUrl", "AgentApiFunction",
                               "agent-api checks the bearer JWT itself")
    env = (res.get("AgentApiFunction", {}).get("Properties", {}).get("Environment", {})
           .get("Variables", {}))
    check("agent-api checks JwtIssuer's JWTs for JwtAudience itself only on its function URL",
          env.get("SMSDESK_JWT_AUDIENCE") == {"Fn::If": ["ApiOnFunctionUrl", {"Fn::Join": [",", {"Ref": "JwtAudience"}]}, ""]}
          and env.get("SMSDESK_OIDC_ISSUER") == {"Ref": "JwtIssuer"}, repr(env))
    http_api = [res[a]["Properties"] for a in by_type.get("AWS::ApiGatewayV2::Api", [])
                if res[a]["Properties"].get("ProtocolType") == "HTTP"]
    api_cors = repr(http_api[0].get("CorsConfiguration")) if http_api else ""
    cors = props.get("Cors", {})
    check("agent-api's function URL allows the console's origin as the API does (ConsoleOrigin)",
          "HasConsoleOrigin" in repr(cors) and "'Ref': 'ConsoleOrigin'" in repr(cors)
          and "idempotency-key" in repr(cors) and "idempotency-key" in api_cors, repr(cors))
    check("output ConsoleUrl names agent-api's function URL with ApiIngress=FunctionUrl",
          "['AgentApiFunctionUrl', 'FunctionUrl']" in repr(outputs.get("ConsoleUrl", {}).get("Value")))


def main():
    t = cfn_yaml.load(TEMPLATE)
    res = t["Resources"]
    glob = t.get("Globals", {}).get("Function", {})
    readme = open(README, encoding="utf-8").read()
    by_type = {}
    for lid, r in res.items():
        by_type.setdefault(r["Type"], []).append(lid)
    functions = by_type.get("AWS::Serverless::Function", [])
    # Binaries of the functions an HTTP API route integrates (the API's 5xx alarm speaks for them).
    http_functions = set()
    for lid in by_type.get("AWS::ApiGatewayV2::Integration", []):
        props = res[lid]["Properties"]
        target = ref(props.get("IntegrationUri"))
        if ref(props.get("ApiId")) == "HttpApi" and target in res:
            http_functions.add(res[target].get("Metadata", {}).get("BuildProperties", {}).get("Binary", target))
    alarms = {lid: res[lid]["Properties"] for lid in by_type.get("AWS::CloudWatch::Alarm", [])}
    esms = [res[lid]["Properties"] for lid in by_type.get("AWS::Lambda::EventSourceMapping", [])]
    iam = parse_iam_table()
    check("TABLES.md has an 'IAM per function' table", iam)
    key_table = parse_key_table()
    check("TABLES.md has a 'Key prefixes per function' table", key_table)

    check("X-Ray tracing is active for every function", glob.get("Tracing") == "Active")
    check("every function is invoked through an alias", glob.get("AutoPublishAlias"))

    for fn in functions:
        props = res[fn]["Properties"]
        meta = res[fn].get("Metadata", {})
        binary = meta.get("BuildProperties", {}).get("Binary", fn)
        code_uri = props.get("CodeUri", glob.get("CodeUri"))
        check(f"{fn}: built as its own package (CodeUri functions/{binary})",
              str(code_uri).rstrip("/").endswith(f"functions/{binary}"), f"CodeUri is {code_uri!r}")

        lg = ref(props.get("LoggingConfig", {}).get("LogGroup"))
        logging = props.get("LoggingConfig", {})
        check(f"{fn}: JSON logs without Lambda's INFO platform lines (LogFormat JSON, SystemLogLevel WARN)",
              logging.get("LogFormat") == "JSON" and logging.get("SystemLogLevel") == "WARN",
              f"LoggingConfig {logging!r}")
        check(f"{fn}: own log group with retention",
              lg in res and res[lg]["Type"] == "AWS::Logs::LogGroup"
              and "RetentionInDays" in res[lg]["Properties"], f"LogGroup {lg!r}")

        def fn_alarms(metric):
            out = []
            for lid, a in alarms.items():
                dims = a.get("Dimensions") or []
                if a.get("Namespace") == "AWS/Lambda" and a.get("MetricName") == metric and any(
                        d.get("Name") == "FunctionName" and ref(d.get("Value")) == fn for d in dims):
                    out.append(lid)
            return out

        errors = fn_alarms("Errors")
        check(f"{fn}: error alarm that notifies someone",
              errors and all(alarm_targets_topic(alarms[a]) for a in errors), f"{errors}")
        throttles = fn_alarms("Throttles")
        reserved = "ReservedConcurrentExecutions" in props
        esm_limited = any(ref(e.get("FunctionName")) == fn
                          and e.get("ScalingConfig", {}).get("MaximumConcurrency") for e in esms)
        check(f"{fn}: concurrency limit", reserved or esm_limited)
        if reserved:
            check(f"{fn}: throttle alarm that notifies someone (it has reserved concurrency)",
                  throttles and all(alarm_targets_topic(alarms[a]) for a in throttles), f"{throttles}")
        else:
            # Only an SQS trigger's MaximumConcurrency limits it: the poller invokes no more than that, so
            # Lambda never throttles it at its limit; its queue's age shows it (checked per queue below).
            check(f"{fn}: no throttle alarm, which could not fire (no reserved concurrency; its SQS trigger's "
                  "MaximumConcurrency caps invocations without throttling)", not throttles, f"{throttles}")
            fed_by = [ref(e.get("EventSourceArn")) for e in esms if ref(e.get("FunctionName")) == fn]
            aged = [q for q in fed_by if any(
                a.get("MetricName") == "ApproximateAgeOfOldestMessage"
                and any(ref(d.get("Value")) == q for d in a.get("Dimensions") or []) for a in alarms.values())]
            check(f"{fn}: at its limit, its queue's age alarm fires instead", fed_by and aged == fed_by,
                  f"{fed_by} {aged}")

        dp = props.get("DeploymentPreference", {})
        branches = trigger_branches(dp.get("Alarms", []))
        check(f"{fn}: gradual deployment rolled back by its error alarm (crashes, time-outs)",
              dp and all(any(a in errors for a in b) for _, b in branches), repr(dp))
        # What Lambda's Errors never sees (a 5xx answer, a message given up on): the function's own count.
        failures = [lid for lid, a in alarms.items() if a.get("Namespace") == "smsdesk"
                    and a.get("MetricName") == "Failures" and any(
                        d.get("Name") == "FunctionName" and ref(d.get("Value")) == fn for d in a.get("Dimensions") or [])]
        check(f"{fn}: a failures alarm (smsdesk Failures, FunctionName) that notifies someone",
              failures and all(alarm_targets_topic(alarms[a]) for a in failures), repr(failures))
        check(f"{fn}: its failures alarm is among its rollback triggers (whatever the conditions)",
              dp and failures and all(any(a in failures for a in b) for _, b in branches), repr(branches))
        if binary in http_functions:
            check(f"{fn}: serves the HTTP API, so the API's 5xx alarm is among its rollback triggers",
                  all("Api5xxAlarm" in b for _, b in branches), repr(branches))
        for url, u in res.items():
            if u["Type"] != "AWS::Lambda::Url" or ref(u["Properties"].get("TargetFunctionArn")) != fn:
                continue
            cond = u.get("Condition")
            url_alarms = [lid for lid, a in alarms.items() if res[lid].get("Condition") == cond and any(
                m.get("MetricStat", {}).get("Metric", {}).get("MetricName") == "Url5xxCount"
                and any(ref(d.get("Value")) == fn for d in m["MetricStat"]["Metric"].get("Dimensions", []))
                for m in a.get("Metrics", []))]
            check(f"{fn}: its function URL {url} has a 5xx alarm (AWS/Lambda Url5xxCount) under {cond}",
                  url_alarms and all(alarm_targets_topic(alarms[a]) for a in url_alarms), repr(url_alarms))
            on = [b for c, b in branches if c == (cond, True)]
            check(f"{fn}: with {cond}, its function URL's 5xx alarm is among its rollback triggers",
                  on and all(any(a in url_alarms for a in b) for b in on), repr(branches))

        # IAM: the function's statements against its rows in TABLES.md.
        name = binary
        want = iam.get(name)
        got = set()
        for policy in as_list(props.get("Policies", [])):
            if not isinstance(policy, dict) or "Statement" not in policy:
                got.add((frozenset(["<managed or templated policy>"]), frozenset([repr(policy)])))
                continue
            for st in policy["Statement"]:
                if st.get("Effect") != "Allow":
                    continue
                got.add((frozenset(as_list(st["Action"])), frozenset(statement_targets(st["Resource"]))))
        # Compare per (service): the union of actions on each target.
        def flat(pairs):
            out = {}
            for acts, targets in pairs:
                for target in targets:
                    out.setdefault(target, set()).update(acts)
            return out
        # The item kinds (dynamodb:LeadingKeys) each action may name, against TABLES.md's rows.
        pairs, problems = template_key_pairs(props)
        check(f"{fn}: DynamoDB conditions are leading keys on the table only", not problems, repr(problems))
        want_pairs = key_table.get(name)
        check(f"{fn}: DynamoDB actions and leading keys are exactly its rows in TABLES.md (Key prefixes per function)",
              want_pairs is not None and pairs == want_pairs,
              f"only in the template: {sorted(pairs - (want_pairs or set()))}; "
              f"only in TABLES.md: {sorted((want_pairs or set()) - pairs)}")
        check(f"{fn}: IAM actions are exactly its row in TABLES.md",
              want is not None and flat(got) == flat(want),
              f"template {sorted((k, sorted(v)) for k, v in flat(got).items())} vs "
              f"TABLES.md {sorted((k, sorted(v)) for k, v in flat(want or set()).items())}")

    queues = by_type.get("AWS::SQS::Queue", [])
    for q in queues:
        props = res[q]["Properties"]
        dlq = "RedrivePolicy" not in props
        metric = "ApproximateNumberOfMessagesVisible" if dlq else "ApproximateAgeOfOldestMessage"
        watching = [lid for lid, a in alarms.items() if a.get("MetricName") == metric and any(
            ref(d.get("Value")) == q for d in a.get("Dimensions") or [])]
        check(f"{q}: alarm on {metric} that notifies someone",
              watching and all(alarm_targets_topic(alarms[a]) for a in watching))
        check(f"{q}: retention set on purpose", "MessageRetentionPeriod" in props)
        if dlq:
            check(f"{q}: retained when the stack goes", res[q].get("DeletionPolicy") == "Retain")

    for lid, a in alarms.items():
        check(f"{lid}: notifies the alarm topic", alarm_targets_topic(a))
        check(f"{lid}: notifies again when it returns to OK (OKActions as its AlarmActions)",
              a.get("OKActions") == a.get("AlarmActions"), repr(a.get("OKActions")))
        desc = str(a.get("AlarmDescription", ""))
        check(f"{lid}: says what it means and the first thing to check", "First check:" in desc, desc[:80])
        check(f"{lid}: has a runbook entry in the README", f"`{lid}`" in readme)

    # A resource kept when a first deploy fails and rolls back (DeletionPolicy Retain) must let CloudFormation
    # name it: a fixed name (e.g. /aws/lambda/<stack>/<fn>) is still taken when the deploy is retried under
    # the same stack name, and the retry fails with "already exists".
    for lid, r in res.items():
        if r.get("DeletionPolicy") != "Retain":
            continue
        named = [k for k in NAME_PROPERTIES if k in r.get("Properties", {})]
        check(f"{lid}: retained, so named by CloudFormation (a retry under the same stack name can create it again)",
              not named, repr(named))

    table = res["Table"]
    check("table: deletion protection on", table["Properties"].get("DeletionProtectionEnabled") is True)
    check("table: retained when the stack goes", table.get("DeletionPolicy") == "Retain")

    stage = res.get("HttpApiStage", {}).get("Properties", {})
    access = ref(stage.get("AccessLogSettings", {}).get("DestinationArn"))
    check("API access logs to a log group with retention",
          access in res and "RetentionInDays" in res[access]["Properties"], f"{access!r}")
    check("the stack can create its own alarm topic with an email subscription",
          "AlarmTopic" in res and any(res[s]["Type"] == "AWS::SNS::Subscription" for s in res))
    check_alarm_topics(res, by_type, alarms)
    check_schedule(res, by_type, alarms)
    outputs = t.get("Outputs", {})
    check_live(res, by_type)
    check_function_urls(res, by_type, glob, outputs)
    for out in ("ApiUrl", "WebhookBaseUrl", "AlarmTopic", "DashboardUrl", "WebSocketUrl", "TableName",
                "MediaBucketName"):
        check(f"output {out}", out in outputs)
    # What `smsdesk dlq --aws` and an operator need: every queue's URL (SMSDESK_<QUEUE>_QUEUE_URL, _DLQ_URL).
    for q in queues:
        named = [o for o, v in outputs.items() if ref(v.get("Value")) == q]
        check(f"an output names {q}'s URL", named, repr(named))
    check("a dashboard is declared", "AWS::CloudWatch::Dashboard" in by_type)
    for d in by_type.get("AWS::CloudWatch::Dashboard", []):
        body = res[d]["Properties"].get("DashboardBody")
        text = body.get("Fn::Sub", "") if isinstance(body, dict) else str(body)
        text = text[0] if isinstance(text, list) else text
        try:
            json.loads(re.sub(r"\$\{[^}]+\}", "x", text))
            parsed = None
        except ValueError as e:
            parsed = str(e)
        check("the dashboard's body is JSON (its ${...} substituted)", parsed is None, parsed)
        for q in queues:
            check(f"the dashboard shows {q}", "${" + q + ".QueueName}" in text)
        unconditional = [lid for lid in alarms if "Condition" not in res[lid]]
        missing = [lid for lid in unconditional if "${" + lid + ".Arn}" not in text]
        check("the dashboard's alarm widget lists every alarm (but those made under a condition)", not missing,
              repr(missing))
    check_tags(t, res)

    failed = 0
    for name, ok, detail in results:
        if ok:
            print(f"ok   {name}")
        else:
            failed += 1
            print(f"FAIL {name}" + (f": {detail}" if detail else ""))
    print(f"template: {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
