#!/usr/bin/env bash
# The console steps `pipectl up` replaces, scripted with the aws CLI as a user would: one `aws`
# process per step, run one after the other. Used by bench_up.py as the baseline.
#
#   benchmarks/aws_cli_steps.sh ENDPOINT_URL [ROLE_NAME]
#
# With ROLE_NAME (e.g. LabRole) the existing role is used; without it a role is created with the
# same least-privilege policy pipectl writes. Needs AWS credentials and AWS_DEFAULT_REGION in the
# environment. Prints the number of aws invocations on the last line.
set -euo pipefail

ENDPOINT="$1"
EXISTING_ROLE="${2:-}"
REGION="${AWS_DEFAULT_REGION:-us-east-1}"
ACCOUNT="123456789012"  # moto's account; on AWS: aws sts get-caller-identity
BUCKET="serverless-data-input-${ACCOUNT}-${REGION}"
TABLE="ProcessedResults"
FUNCTION="serverless-data-processor"
ROLE="pipectl-serverless-data-lambda"
LOG_GROUP="/aws/lambda/${FUNCTION}"
HANDLER_DIR="$(cd "$(dirname "$0")/../handler" && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
N=0

aws_() {
  N=$((N + 1))
  aws --endpoint-url "$ENDPOINT" --output text "$@"
}

# 1. The bucket: private, ACLs disabled, SSE-S3, TLS-only policy, tags.
aws_ s3api create-bucket --bucket "$BUCKET" >/dev/null
aws_ s3api put-public-access-block --bucket "$BUCKET" --public-access-block-configuration \
  BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true
aws_ s3api put-bucket-ownership-controls --bucket "$BUCKET" \
  --ownership-controls 'Rules=[{ObjectOwnership=BucketOwnerEnforced}]'
aws_ s3api put-bucket-encryption --bucket "$BUCKET" --server-side-encryption-configuration \
  '{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"AES256"}}]}'
if [ "${ENDPOINT#http://}" = "$ENDPOINT" ]; then
  # TLS-only policy; like pipectl, not on a plain-HTTP endpoint (moto would enforce it there).
  aws_ s3api put-bucket-policy --bucket "$BUCKET" --policy "{\"Version\":\"2012-10-17\",\
\"Statement\":[{\"Sid\":\"deny-insecure-transport\",\"Effect\":\"Deny\",\"Principal\":\"*\",\
\"Action\":\"s3:*\",\"Resource\":[\"arn:aws:s3:::${BUCKET}\",\"arn:aws:s3:::${BUCKET}/*\"],\
\"Condition\":{\"Bool\":{\"aws:SecureTransport\":\"false\"}}}]}"
fi
aws_ s3api put-bucket-tagging --bucket "$BUCKET" \
  --tagging 'TagSet=[{Key=managed-by,Value=aws-cli},{Key=pipectl-pipeline,Value=serverless-data}]'

# 2. The table, on demand, and wait for it.
aws_ dynamodb create-table --table-name "$TABLE" --billing-mode PAY_PER_REQUEST \
  --attribute-definitions AttributeName=file_name,AttributeType=S \
  --key-schema AttributeName=file_name,KeyType=HASH \
  --tags Key=managed-by,Value=aws-cli Key=pipectl-pipeline,Value=serverless-data >/dev/null
aws_ dynamodb wait table-exists --table-name "$TABLE"

# 3. The execution role: existing, or created with a least-privilege inline policy. (Outputs go
# through files, not $(...), so that aws_ runs in this shell and counts.)
if [ -n "$EXISTING_ROLE" ]; then
  aws_ iam get-role --role-name "$EXISTING_ROLE" --query Role.Arn >"$WORK/role_arn"
else
  aws_ iam create-role --role-name "$ROLE" --query Role.Arn >"$WORK/role_arn" \
    --assume-role-policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
      "Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
  aws_ iam put-role-policy --role-name "$ROLE" --policy-name pipectl-serverless-data \
    --policy-document "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\
\"Action\":[\"dynamodb:PutItem\"],\
\"Resource\":\"arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${TABLE}\"},\
{\"Effect\":\"Allow\",\"Action\":[\"logs:CreateLogStream\",\"logs:PutLogEvents\"],\
\"Resource\":\"arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${LOG_GROUP}:*\"}]}"
fi
ROLE_ARN="$(cat "$WORK/role_arn")"

# 4. The log group with a retention.
aws_ logs create-log-group --log-group-name "$LOG_GROUP" \
  --tags managed-by=aws-cli,pipectl-pipeline=serverless-data
aws_ logs put-retention-policy --log-group-name "$LOG_GROUP" --retention-in-days 14

# 5. The function from handler/, zipped, and wait until it is active.
(cd "$HANDLER_DIR" && python -m zipfile -c "$WORK/function.zip" app.py)
aws_ lambda create-function --function-name "$FUNCTION" --runtime python3.12 \
  --handler app.lambda_handler --role "$ROLE_ARN" --zip-file "fileb://$WORK/function.zip" \
  --timeout 30 --memory-size 128 --tags managed-by=aws-cli,pipectl-pipeline=serverless-data \
  --environment "Variables={TABLE_NAME=${TABLE},PARTITION_KEY=file_name}" --query FunctionArn \
  >"$WORK/function_arn"
FUNCTION_ARN="$(cat "$WORK/function_arn")"
aws_ lambda wait function-active-v2 --function-name "$FUNCTION"
# Async retries and event age for S3's invocations (pipectl sets these too).
aws_ lambda put-function-event-invoke-config --function-name "$FUNCTION" \
  --maximum-retry-attempts 2 --maximum-event-age-in-seconds 21600 >/dev/null

# 6. Let S3 invoke it, from this bucket and account only; 7. the trigger.
aws_ lambda add-permission --function-name "$FUNCTION" --statement-id s3-invoke \
  --action lambda:InvokeFunction --principal s3.amazonaws.com \
  --source-arn "arn:aws:s3:::${BUCKET}" --source-account "$ACCOUNT" >/dev/null
aws_ s3api put-bucket-notification-configuration --bucket "$BUCKET" \
  --notification-configuration "{\"LambdaFunctionConfigurations\":[{\"Id\":\"aws-cli\",\
\"LambdaFunctionArn\":\"${FUNCTION_ARN}\",\"Events\":[\"s3:ObjectCreated:*\"]}]}"

echo "aws invocations: $N"
